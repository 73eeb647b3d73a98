package feasibility

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Metric names a measured quantity. Phases are in seconds.
type Metric string

// Measured quantities, in report order.
const (
	ExecutorStart Metric = "executor_start"
	ContextUpload Metric = "context_upload"
	BaseImagePull Metric = "base_image_pull"
	Build         Metric = "build"
	Push          Metric = "push"
	BuildTotal    Metric = "total"
	RunFirstLog   Metric = "run_first_log"
	EndToEnd      Metric = "end_to_end"
	PeakCPU       Metric = "peak_cpu_millicores"
	PeakMemory    Metric = "peak_memory_bytes"
	ImageSize     Metric = "image_size_bytes"
)

// Metrics lists every metric in report order.
var Metrics = []Metric{ExecutorStart, ContextUpload, BaseImagePull, Build, Push, BuildTotal, RunFirstLog, EndToEnd, PeakCPU, PeakMemory, ImageSize}

// PhaseMetrics are the metrics drawn in the chart, in flow order.
var PhaseMetrics = []Metric{ExecutorStart, ContextUpload, BaseImagePull, Build, Push, RunFirstLog}

var metricLabels = map[Metric]string{
	ExecutorStart: "Executor start (schedule, pull executor, start)",
	ContextUpload: "Context upload",
	BaseImagePull: "Base image pull",
	Build:         "Build",
	Push:          "Push",
	BuildTotal:    "Build total (pod created to Kaniko exit)",
	RunFirstLog:   "Run built image (node pull to first log line)",
	EndToEnd:      "End to end (build total + run)",
	PeakCPU:       "Executor peak CPU",
	PeakMemory:    "Executor peak memory",
	ImageSize:     "Image size (compressed)",
}

// chartLabels are the short names of the chart's legend.
var chartLabels = map[Metric]string{
	ExecutorStart: "Executor start", ContextUpload: "Context upload", BaseImagePull: "Base image pull",
	Build: "Build", Push: "Push", RunFirstLog: "Run built image to first log line",
}

// Study holds the figures the original feasibility study reported.
var Study = map[Metric]float64{
	BaseImagePull: 6,
	Build:         1,
	Push:          1,
	BuildTotal:    8,
	PeakCPU:       500,
	PeakMemory:    512 * 1024 * 1024,
	ImageSize:     36 * 1000 * 1000,
}

// Sample is one run of the flow.
type Sample struct {
	Mode   string             `json:"mode"`
	Run    int                `json:"run"`
	Values map[Metric]float64 `json:"values"`
	Digest string             `json:"digest,omitempty"`
	Error  string             `json:"error,omitempty"`
}

// Environment records what the run happened on.
type Environment struct {
	Date              time.Time         `json:"date"`
	Host              string            `json:"host"`
	CPUs              int               `json:"cpus"`
	CPUModel          string            `json:"cpu_model,omitempty"`
	Kernel            string            `json:"kernel,omitempty"`
	Nodes             int               `json:"nodes"`
	Versions          map[string]string `json:"versions"`
	BaseImage         string            `json:"base_image"`
	BaseImageBytes    int64             `json:"base_image_bytes"`
	ExecutorResources map[string]string `json:"executor_resources,omitempty"`
	Notes             []string          `json:"notes,omitempty"`
}

// Report is a whole benchmark run.
type Report struct {
	Environment Environment `json:"environment"`
	Samples     []Sample    `json:"samples"`
}

// Stat summarises one metric over the successful samples of a mode.
type Stat struct {
	N                int
	Min, Median, Max float64
}

// Summarize computes the Stat of metric over mode's successful samples.
func (r Report) Summarize(mode string, m Metric) Stat {
	var vals []float64
	for _, s := range r.Samples {
		if s.Mode != mode || s.Error != "" {
			continue
		}
		if v, ok := s.Values[m]; ok {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return Stat{}
	}
	sort.Float64s(vals)
	med := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		med = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	return Stat{N: len(vals), Min: vals[0], Median: med, Max: vals[len(vals)-1]}
}

// Modes lists the modes present, in first-seen order.
func (r Report) Modes() []string {
	var modes []string
	seen := map[string]bool{}
	for _, s := range r.Samples {
		if !seen[s.Mode] {
			seen[s.Mode] = true
			modes = append(modes, s.Mode)
		}
	}
	return modes
}

// format renders a value of metric m for people.
func format(m Metric, v float64) string {
	switch m {
	case PeakCPU:
		return fmt.Sprintf("%.0fm", v)
	case PeakMemory:
		return fmt.Sprintf("%.0fMi", v/(1024*1024))
	case ImageSize:
		return fmt.Sprintf("%.1f MB", v/1e6)
	}
	return fmt.Sprintf("%.2fs", v)
}

// Markdown renders the report's table and context.
func (r Report) Markdown() string {
	var b strings.Builder
	env := r.Environment
	fmt.Fprintf(&b, "# Feasibility report\n\n")
	fmt.Fprintf(&b, "Measured %s on %s (%d CPUs%s), %d node(s); Kubernetes %s, Kaniko %s, kind %s.\n\n",
		env.Date.UTC().Format("2006-01-02 15:04 MST"), env.Host, env.CPUs, prefixed(", ", env.CPUModel), env.Nodes,
		env.Versions["kubernetes"], env.Versions["kaniko"], env.Versions["kind"])
	fmt.Fprintf(&b, "Base image `%s`: %.1f MB compressed (the study's image: about 36 MB).\n\n", env.BaseImage, float64(env.BaseImageBytes)/1e6)
	modes := r.Modes()
	fmt.Fprintf(&b, "| Metric | Study |")
	for _, m := range modes {
		fmt.Fprintf(&b, " %s min | %s median | %s max |", m, m, m)
	}
	fmt.Fprintf(&b, "\n|---|---|")
	for range modes {
		fmt.Fprintf(&b, "---|---|---|")
	}
	b.WriteString("\n")
	for _, m := range Metrics {
		study := "-"
		if v, ok := Study[m]; ok {
			study = "~" + format(m, v)
		}
		fmt.Fprintf(&b, "| %s | %s |", metricLabels[m], study)
		for _, mode := range modes {
			st := r.Summarize(mode, m)
			if st.N == 0 {
				b.WriteString(" - | - | - |")
				continue
			}
			fmt.Fprintf(&b, " %s | %s | %s |", format(m, st.Min), format(m, st.Median), format(m, st.Max))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, mode := range modes {
		ok, failed := 0, 0
		for _, s := range r.Samples {
			if s.Mode == mode {
				if s.Error == "" {
					ok++
				} else {
					failed++
				}
			}
		}
		fmt.Fprintf(&b, "- %s: %d successful run(s), %d failed.\n", mode, ok, failed)
	}
	if len(env.ExecutorResources) > 0 {
		b.WriteString("\nThe provider's default executor resources (used in every run above) beside the highest peak measured:\n\n")
		b.WriteString("| Resource | Default request | Default limit | Measured peak (all runs) |\n|---|---|---|---|\n")
		for _, row := range []struct {
			name, key string
			metric    Metric
		}{{"CPU", "cpu", PeakCPU}, {"Memory", "memory", PeakMemory}} {
			peak := "-"
			if v, ok := r.highest(row.metric); ok {
				peak = format(row.metric, v)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.name, orDash(env.ExecutorResources["requests."+row.key]), orDash(env.ExecutorResources["limits."+row.key]), peak)
		}
		b.WriteString("\n")
	}
	for _, n := range env.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

// highest is the largest value of m over all successful samples.
func (r Report) highest(m Metric) (float64, bool) {
	best, ok := 0.0, false
	for _, s := range r.Samples {
		if v, has := s.Values[m]; has && s.Error == "" && (!ok || v > best) {
			best, ok = v, true
		}
	}
	return best, ok
}

func orDash(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// JSON renders every sample and the environment.
func (r Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// SVG draws one stacked bar per mode (median of each phase) and one for
// the study's reported phases.
func (r Report) SVG() string {
	type bar struct {
		label string
		parts map[Metric]float64
	}
	var bars []bar
	for _, mode := range r.Modes() {
		parts := map[Metric]float64{}
		for _, m := range PhaseMetrics {
			parts[m] = r.Summarize(mode, m).Median
		}
		bars = append(bars, bar{label: mode + " (median)", parts: parts})
	}
	bars = append(bars, bar{label: "study", parts: map[Metric]float64{BaseImagePull: Study[BaseImagePull], Build: Study[Build], Push: Study[Push]}})
	maxTotal := 0.0
	for _, br := range bars {
		t := 0.0
		for _, v := range br.parts {
			t += v
		}
		maxTotal = math.Max(maxTotal, t)
	}
	if maxTotal == 0 {
		maxTotal = 1
	}
	colors := map[Metric]string{ExecutorStart: "#8da0cb", ContextUpload: "#a6d854", BaseImagePull: "#fc8d62", Build: "#66c2a5", Push: "#e78ac3", RunFirstLog: "#ffd92f"}
	const left, width, rowH, top = 140.0, 560.0, 34.0, 40.0
	height := top + rowH*float64(len(bars)) + 80
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", height)
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15">Study flow phases, seconds (median per mode)</text>`+"\n")
	for i, br := range bars {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="10" y="%.0f">%s</text>`+"\n", y+17, br.label)
		x, total := left, 0.0
		for _, m := range PhaseMetrics {
			v := br.parts[m]
			if v <= 0 {
				continue
			}
			w := v / maxTotal * width
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="24" fill="%s"><title>%s: %.2fs</title></rect>`+"\n", x, y, w, colors[m], metricLabels[m], v)
			x += w
			total += v
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f">%.2fs</text>`+"\n", x+6, y+17, total)
	}
	ly := top + rowH*float64(len(bars)) + 20
	for i, m := range PhaseMetrics {
		x := 10 + float64(i%3)*250
		y := ly + float64(i/3)*20
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n", x, y, colors[m], x+16, y+10, chartLabels[m])
	}
	b.WriteString("</svg>\n")
	return b.String()
}
