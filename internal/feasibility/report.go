package feasibility

import (
	"encoding/json"
	"sort"
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
	// ArchitectureCheck is the check of the executables a Dockerfile
	// copies (build.PhaseArchitectureCheck).
	ArchitectureCheck Metric = "architecture_check"
	// Attach is the time to attach an SBOM and provenance and to sign
	// the image and both, after the push.
	Attach Metric = "attach"
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
	// DirectTwoPlatforms and KanikoTwoPlatforms build the study's image
	// for linux/amd64 and linux/arm64: an image index.
	DirectTwoPlatforms = "direct x2 platforms"
	KanikoTwoPlatforms = "kaniko x2 platforms"
	// DirectAttested is Direct with an SBOM, provenance and a signature
	// of the image and of both.
	DirectAttested = "direct attested"
)

// StudyScenarios build the study's image; they share one table.
var StudyScenarios = []string{KanikoCold, KanikoWarm, Direct, Floor}

// PlatformScenarios build the study's image for one platform and two,
// side by side.
var PlatformScenarios = []string{KanikoWarm, KanikoTwoPlatforms, Direct, DirectTwoPlatforms}

// StudyMetrics are the rows of the study's table.
var StudyMetrics = []Metric{ExecutorStart, ContextUpload, BaseImagePull, Build, Push, BuildTotal, RunFirstLog, EndToEnd, PeakCPU, PeakMemory, ImageSize}

var metricLabels = map[Metric]string{
	ExecutorStart:     "Executor start (schedule, pull executor, start)",
	ContextUpload:     "Context upload (direct: read into layers)",
	BaseImagePull:     "Base image pull (direct: resolve base)",
	ArchitectureCheck: "Architecture check of the copied executables",
	Attach:            "Attach SBOM and provenance, sign all three",
	Build:             "Build",
	Push:              "Push",
	BuildTotal:        "Build total",
	RunFirstLog:       "Run built image (node pull to first log line)",
	EndToEnd:          "End to end (build total + run)",
	PeakCPU:           "Executor peak CPU",
	PeakMemory:        "Executor peak memory",
	ImageSize:         "Image size (compressed)",
	Apply:             "terraform apply",
	CPUBusy:           "CPU busy on this machine",
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
	// Monorepo is the monorepo scenario's size, when it ran.
	Monorepo *MonorepoSize `json:"monorepo,omitempty"`
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

// JSON renders every sample and the environment.
func (r Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}
