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
	Queued        Metric = "queued"
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
	// Apply is the wall time of a whole terraform apply.
	Apply Metric = "apply"
)

// Scenarios, as samples name them.
const (
	KanikoCold     = "kaniko cold"
	KanikoWarm     = "kaniko warm"
	Direct         = "direct"
	Floor          = "floor"
	ApplyKaniko    = "apply kaniko"
	ApplyDirect    = "apply direct"
	ApplyDirectTen = "apply direct x10"
	WorkloadCold   = "RUN workload, no cache"
	WorkloadCached = "RUN workload, cache, unchanged"
	WorkloadLate   = "RUN workload, cache, late change"
	ParallelKaniko = "parallel kaniko"
)

// StudyScenarios build the study's image; they share one table.
var StudyScenarios = []string{KanikoCold, KanikoWarm, Direct, Floor}

// StudyMetrics are the rows of the study's table.
var StudyMetrics = []Metric{ExecutorStart, ContextUpload, BaseImagePull, Build, Push, BuildTotal, RunFirstLog, EndToEnd, PeakCPU, PeakMemory, ImageSize}

// PhaseMetrics are the chart's segments inside a build total, in order.
var PhaseMetrics = []Metric{ExecutorStart, ContextUpload, BaseImagePull, Build, Push}

var metricLabels = map[Metric]string{
	ExecutorStart: "Executor start (schedule, pull executor, start)",
	ContextUpload: "Context upload (direct: read into layers)",
	BaseImagePull: "Base image pull (direct: resolve base)",
	Build:         "Build",
	Push:          "Push",
	BuildTotal:    "Build total",
	RunFirstLog:   "Run built image (node pull to first log line)",
	EndToEnd:      "End to end (build total + run)",
	PeakCPU:       "Executor peak CPU",
	PeakMemory:    "Executor peak memory",
	ImageSize:     "Image size (compressed)",
	Apply:         "terraform apply",
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

// Sample is one run of one scenario.
type Sample struct {
	Mode   string             `json:"mode"`
	Run    int                `json:"run"`
	Node   string             `json:"node,omitempty"`
	Values map[Metric]float64 `json:"values"`
	Digest string             `json:"digest,omitempty"`
	Error  string             `json:"error,omitempty"`
}

// NodeInfo is one node of the cluster.
type NodeInfo struct {
	Name    string `json:"name"`
	CPU     string `json:"cpu"`
	Memory  string `json:"memory"`
	Arch    string `json:"arch"`
	Kernel  string `json:"kernel,omitempty"`
	Runtime string `json:"runtime,omitempty"`
}

// Environment records what the run happened on.
type Environment struct {
	Date           time.Time         `json:"date"`
	Host           string            `json:"host"`
	CPUs           int               `json:"cpus"`
	CPUModel       string            `json:"cpu_model,omitempty"`
	Harness        bool              `json:"harness"`
	Nodes          int               `json:"nodes"`
	NodeList       []NodeInfo        `json:"node_list,omitempty"`
	Versions       map[string]string `json:"versions"`
	Registry       string            `json:"registry"`
	RegistryRTT    string            `json:"registry_rtt,omitempty"`
	BaseImage      string            `json:"base_image"`
	BaseImageBytes int64             `json:"base_image_bytes"`
	ExecutorImage  string            `json:"executor_image"`
	// Sampling says where peak CPU and memory come from, and how often.
	Sampling          string            `json:"sampling"`
	ExecutorResources map[string]string `json:"executor_resources,omitempty"`
	Notes             []string          `json:"notes,omitempty"`
}

// Report is a whole benchmark run.
type Report struct {
	Environment Environment `json:"environment"`
	Samples     []Sample    `json:"samples"`
	// Skipped names scenarios that were not measured, with the reason.
	Skipped map[string]string `json:"skipped,omitempty"`
	// Repositories lists where the run pushed images.
	Repositories []string `json:"repositories,omitempty"`
}

// Stat summarises one metric over the successful samples of a mode.
type Stat struct {
	N                int
	Min, Median, Max float64
}

func (r Report) values(mode string, m Metric, from int) []float64 {
	var vals []float64
	for _, s := range r.Samples {
		if s.Mode != mode || s.Error != "" || s.Run < from {
			continue
		}
		if v, ok := s.Values[m]; ok {
			vals = append(vals, v)
		}
	}
	return vals
}

// Summarize computes the Stat of metric over mode's successful samples.
func (r Report) Summarize(mode string, m Metric) Stat { return summarize(r.values(mode, m, 0)) }

func summarize(vals []float64) Stat {
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

func cell(m Metric, st Stat) string {
	switch {
	case st.N == 0:
		return "-"
	case st.N == 1 || st.Min == st.Max:
		return format(m, st.Median)
	}
	return fmt.Sprintf("%s (%s to %s)", format(m, st.Median), format(m, st.Min), format(m, st.Max))
}

// Goal is a target the report checks.
type Goal struct {
	Name     string
	Goal     string
	Measured string
	// Met is nil when the goal could not be evaluated.
	Met *bool
}

// Goals evaluates the project's goals on the samples: a direct build
// within 2x the floor, a terraform apply of a changed binary with direct
// in at most 0.6 s, ten direct builds in one apply within 1.5x one, and
// the first Kaniko build (right after cluster-up) within 1.5x the median
// of the following ones.
func (r Report) Goals() []Goal {
	ratio := func(name, goal string, a, b Stat, limit float64, what string) Goal {
		t := Goal{Name: name, Goal: goal}
		if a.N == 0 || b.N == 0 || b.Median == 0 {
			t.Measured = "not measured"
			return t
		}
		x := a.Median / b.Median
		met := x <= limit
		t.Measured, t.Met = fmt.Sprintf("%.2fs vs %.2fs: %.2fx %s", a.Median, b.Median, x, what), &met
		return t
	}
	var out []Goal
	out = append(out, ratio("Direct build vs the floor", "at most 2x", r.Summarize(Direct, BuildTotal), r.Summarize(Floor, BuildTotal), 2, "the floor"))
	apply := r.Summarize(ApplyDirect, Apply)
	t := Goal{Name: "terraform apply of a changed binary, direct", Goal: "at most 0.60s", Measured: "not measured"}
	if apply.N > 0 {
		met := apply.Median <= 0.6
		t.Measured, t.Met = cell(Apply, apply), &met
	}
	out = append(out, t)
	out = append(out, ratio("Ten direct builds in one apply vs one", "at most 1.5x", r.Summarize(ApplyDirectTen, Apply), apply, 1.5, "one"))
	first, rest := summarize(r.values(KanikoCold, BuildTotal, 1)), summarize(r.values(KanikoCold, BuildTotal, 2))
	for _, s := range r.Samples {
		if s.Mode == KanikoCold && s.Run == 1 && s.Error == "" {
			first = summarize([]float64{s.Values[BuildTotal]})
		}
	}
	out = append(out, ratio("First Kaniko build after cluster-up vs the next ones", "at most 1.5x", first, rest, 1.5, "the median of the next"))
	return out
}

// Markdown renders the report.
func (r Report) Markdown() string {
	var b strings.Builder
	env := r.Environment
	b.WriteString("# Feasibility report\n\n")
	where := "any cluster (kubeconfig)"
	if env.Harness {
		where = "the harness's kind cluster"
	}
	fmt.Fprintf(&b, "Measured %s from %s (%d CPUs%s) against %s: Kubernetes %s, %d node(s).\n\n",
		env.Date.UTC().Format("2006-01-02 15:04 MST"), env.Host, env.CPUs, prefixed(", ", env.CPUModel), where, orDash(env.Versions["kubernetes"]), env.Nodes)
	if len(env.NodeList) > 0 {
		b.WriteString("| Node | CPU | Memory | Arch | Runtime |\n|---|---|---|---|---|\n")
		for _, n := range env.NodeList {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", n.Name, n.CPU, n.Memory, n.Arch, n.Runtime)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "- Registry `%s`, round trip from a pod: %s.\n", env.Registry, orText(env.RegistryRTT, "not measured"))
	fmt.Fprintf(&b, "- Base image `%s`: %.1f MB compressed (the study's image: about 36 MB).\n", env.BaseImage, float64(env.BaseImageBytes)/1e6)
	fmt.Fprintf(&b, "- Executor image `%s`.\n", env.ExecutorImage)
	var versions []string
	for k, v := range env.Versions {
		versions = append(versions, k+" "+v)
	}
	sort.Strings(versions)
	fmt.Fprintf(&b, "- Versions: %s.\n", strings.Join(versions, ", "))
	fmt.Fprintf(&b, "- Peak CPU and memory: %s.\n\n", orText(env.Sampling, "not measured"))

	b.WriteString("## The study's flow\n\nMedian (min to max) of each scenario; every run changes the application binary, as a code change would.\n\n")
	modes := r.present(StudyScenarios)
	fmt.Fprintf(&b, "| Metric | Study |")
	for _, m := range modes {
		fmt.Fprintf(&b, " %s |", m)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(modes)) + "\n")
	for _, m := range StudyMetrics {
		study := "-"
		if v, ok := Study[m]; ok {
			study = "~" + format(m, v)
		}
		fmt.Fprintf(&b, "| %s | %s |", metricLabels[m], study)
		for _, mode := range modes {
			b.WriteString(" " + cell(m, r.Summarize(mode, m)) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	r.writeCounts(&b, modes)

	b.WriteString("\n## Targets\n\n| Target | Goal | Measured | Met |\n|---|---|---|---|\n")
	for _, t := range r.Goals() {
		met := "-"
		if t.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*t.Met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Goal, t.Measured, met)
	}

	if applies := r.present([]string{ApplyKaniko, ApplyDirect, ApplyDirectTen}); len(applies) > 0 {
		b.WriteString("\n## terraform apply\n\nWall time of `terraform apply` after a change to the binary (ten changed binaries for x10), with the provider installed through dev_overrides.\n\n| Scenario | terraform apply | Build total |\n|---|---|---|\n")
		for _, m := range applies {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", m, cell(Apply, r.Summarize(m, Apply)), cell(BuildTotal, r.Summarize(m, BuildTotal)))
		}
		r.writeCounts(&b, applies)
	}

	if work := r.present([]string{WorkloadCold, WorkloadCached, WorkloadLate}); len(work) > 0 {
		b.WriteString("\n## Kaniko on work only Kaniko can do\n\nA Dockerfile with RUN steps (generating and archiving files with the base image's own tools), built without Kaniko's layer cache, then with `cache { enabled = true }` on an unchanged input and after a change to a late layer.\n\n")
		b.WriteString("| Scenario | Build total | Build phase | Executor peak memory |\n|---|---|---|---|\n")
		for _, m := range work {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m, cell(BuildTotal, r.Summarize(m, BuildTotal)), cell(Build, r.Summarize(m, Build)), cell(PeakMemory, r.Summarize(m, PeakMemory)))
		}
		r.writeCounts(&b, work)
	}

	if par := r.present([]string{ParallelKaniko}); len(par) > 0 {
		b.WriteString("\n## Builds across nodes\n\nKaniko builds started at the same time, and where the scheduler put them.\n\n| Run | Node | Build total |\n|---|---|---|\n")
		perNode := map[string]int{}
		for _, s := range r.Samples {
			if s.Mode == ParallelKaniko {
				fmt.Fprintf(&b, "| %d | %s | %s |\n", s.Run, orDash(s.Node), format(BuildTotal, s.Values[BuildTotal]))
				perNode[s.Node]++
			}
		}
		var spread []string
		for n, c := range perNode {
			spread = append(spread, fmt.Sprintf("%s: %d", orDash(n), c))
		}
		sort.Strings(spread)
		fmt.Fprintf(&b, "\nBuilds per node: %s.\n", strings.Join(spread, ", "))
	}
	nodesOf := map[string]map[string]bool{}
	for _, s := range r.Samples {
		if s.Node != "" && s.Mode != ParallelKaniko {
			if nodesOf[s.Mode] == nil {
				nodesOf[s.Mode] = map[string]bool{}
			}
			nodesOf[s.Mode][s.Node] = true
		}
	}
	if len(nodesOf) > 0 && env.Nodes > 1 {
		b.WriteString("\nNodes that ran Kaniko builds: ")
		var parts []string
		for _, m := range r.Modes() {
			if ns := nodesOf[m]; ns != nil {
				var names []string
				for n := range ns {
					names = append(names, n)
				}
				sort.Strings(names)
				parts = append(parts, m+": "+strings.Join(names, ", "))
			}
		}
		b.WriteString(strings.Join(parts, "; ") + ".\n")
	}

	if len(env.ExecutorResources) > 0 {
		b.WriteString("\n## Default executor resources\n\n| Resource | Default request | Default limit | Measured peak (all runs) |\n|---|---|---|---|\n")
		for _, row := range []struct {
			name, key string
			metric    Metric
		}{{"CPU", "cpu", PeakCPU}, {"Memory", "memory", PeakMemory}} {
			peak := "not measured"
			if v, ok := r.highest(row.metric); ok {
				peak = format(row.metric, v)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.name, orText(env.ExecutorResources["requests."+row.key], "none"), orText(env.ExecutorResources["limits."+row.key], "none"), peak)
		}
	}
	if len(r.Skipped) > 0 {
		b.WriteString("\n## Not measured\n\n")
		var names []string
		for n := range r.Skipped {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "- %s: %s\n", n, r.Skipped[n])
		}
	}
	if len(env.Notes) > 0 {
		b.WriteString("\n## Definitions\n\n")
		for _, n := range env.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(r.Repositories) > 0 {
		fmt.Fprintf(&b, "\nImages pushed by this run: %s.\n", "`"+strings.Join(r.Repositories, "`, `")+"`")
	}
	return b.String()
}

func (r Report) writeCounts(b *strings.Builder, modes []string) {
	var parts []string
	for _, mode := range modes {
		ok, failed := 0, 0
		var firstErr string
		for _, s := range r.Samples {
			if s.Mode == mode {
				if s.Error == "" {
					ok++
				} else {
					failed++
					if firstErr == "" {
						firstErr = s.Error
					}
				}
			}
		}
		p := fmt.Sprintf("%s: %d run(s)", mode, ok)
		if failed > 0 {
			p += fmt.Sprintf(", %d failed (first: %s)", failed, firstErr)
		}
		parts = append(parts, p)
	}
	fmt.Fprintf(b, "\nRuns: %s.\n", strings.Join(parts, "; "))
}

// present keeps the modes that have samples.
func (r Report) present(modes []string) []string {
	have := map[string]bool{}
	for _, s := range r.Samples {
		have[s.Mode] = true
	}
	var out []string
	for _, m := range modes {
		if have[m] {
			out = append(out, m)
		}
	}
	return out
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

func orDash(s string) string { return orText(s, "-") }

func orText(s, alt string) string {
	if s == "" {
		return alt
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

// segment is one part of a chart bar.
type segment struct {
	label string
	color string
	value float64
}

// Bars are the chart's bars: per study scenario, the median phases of
// the build, then "other" for the part of the build total no phase
// accounts for, then the run; so each bar adds up to the median build
// total plus the median run. Phases that overlap (the context upload
// runs while Kaniko starts) are cut so that the bar never exceeds the
// measured total. Then the study's own phases.
func (r Report) Bars() []struct {
	Label    string
	Segments []segment
	Total    float64
} {
	type bar = struct {
		Label    string
		Segments []segment
		Total    float64
	}
	colors := map[Metric]string{ExecutorStart: "#8da0cb", ContextUpload: "#a6d854", BaseImagePull: "#fc8d62", Build: "#66c2a5", Push: "#e78ac3", RunFirstLog: "#ffd92f"}
	var bars []bar
	for _, mode := range r.present(StudyScenarios) {
		total := r.Summarize(mode, BuildTotal).Median
		var segs []segment
		used := 0.0
		for _, m := range PhaseMetrics {
			v := r.Summarize(mode, m).Median
			if v <= 0 {
				continue
			}
			v = math.Min(v, total-used)
			if v <= 0 {
				continue
			}
			segs = append(segs, segment{metricLabels[m], colors[m], v})
			used += v
		}
		if other := total - used; other > 0.0005 {
			segs = append(segs, segment{"Other (time no phase accounts for)", "#b3b3b3", other})
		}
		run := r.Summarize(mode, RunFirstLog).Median
		if run > 0 {
			segs = append(segs, segment{metricLabels[RunFirstLog], colors[RunFirstLog], run})
		}
		bars = append(bars, bar{Label: mode, Segments: segs, Total: total + run})
	}
	bars = append(bars, bar{Label: "study", Total: Study[BuildTotal], Segments: []segment{
		{metricLabels[BaseImagePull], colors[BaseImagePull], Study[BaseImagePull]},
		{metricLabels[Build], colors[Build], Study[Build]},
		{metricLabels[Push], colors[Push], Study[Push]},
	}})
	return bars
}

// SVG draws the bars.
func (r Report) SVG() string {
	bars := r.Bars()
	maxTotal := 1.0
	for _, br := range bars {
		maxTotal = math.Max(maxTotal, br.Total)
	}
	const left, width, rowH, top = 150.0, 540.0, 34.0, 40.0
	height := top + rowH*float64(len(bars)) + 100
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="780" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", height)
	b.WriteString(`<text x="10" y="22" font-size="15">The study's flow, seconds: median build phases, other time, and the run</text>` + "\n")
	legend := map[string]string{}
	var order []string
	for i, br := range bars {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="10" y="%.0f">%s</text>`+"\n", y+17, escape(br.Label))
		x := left
		for _, s := range br.Segments {
			w := s.value / maxTotal * width
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="24" fill="%s"><title>%s: %.2fs</title></rect>`+"\n", x, y, w, s.color, escape(s.label), s.value)
			x += w
			if _, ok := legend[s.label]; !ok {
				legend[s.label] = s.color
				order = append(order, s.label)
			}
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f">%.2fs</text>`+"\n", x+6, y+17, br.Total)
	}
	ly := top + rowH*float64(len(bars)) + 20
	for i, l := range order {
		x := 10 + float64(i%2)*380
		y := ly + float64(i/2)*18
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n", x, y, legend[l], x+16, y+10, escape(l))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
