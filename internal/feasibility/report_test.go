package feasibility

import (
	"encoding/json"
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"
)

func sampleReport() Report {
	r := Report{Environment: Environment{
		Date: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), Host: "ci", CPUs: 2, Nodes: 1,
		Versions:  map[string]string{"kubernetes": "v1.37.2", "kaniko": "v1.26.3"},
		BaseImage: "ones/plugin-host-node:v6.33.1", BaseImageBytes: 38_000_000, Registry: "registry:5000",
		ExecutorResources: map[string]string{"requests.cpu": "500m", "requests.memory": "512Mi", "limits.memory": "2Gi"},
	}, Skipped: map[string]string{ParallelKaniko: "not asked for"}}
	for i, v := range []float64{3, 1, 2} {
		r.Samples = append(r.Samples, Sample{Mode: KanikoCold, Run: i + 1, Node: "n1", Values: map[Metric]float64{
			ExecutorStart: 0.5, ContextUpload: 0.2, BaseImagePull: v, Build: 0.5, Push: 0.1, BuildTotal: v + 1.5, RunFirstLog: 0.6, PeakMemory: 100 * 1024 * 1024,
		}})
	}
	for i, v := range []float64{0.4, 0.2} {
		r.Samples = append(r.Samples, Sample{Mode: KanikoWarm, Run: i + 1, Values: map[Metric]float64{BaseImagePull: v, BuildTotal: 1}})
	}
	r.Samples = append(r.Samples, Sample{Mode: KanikoWarm, Run: 3, Values: map[Metric]float64{BaseImagePull: 99}, Error: "pod evicted"})
	for i := 1; i <= 3; i++ {
		r.Samples = append(r.Samples,
			Sample{Mode: Direct, Run: i, Values: map[Metric]float64{BaseImagePull: 0.01, Build: 0.02, Push: 0.05, BuildTotal: 0.1}},
			Sample{Mode: Floor, Run: i, Values: map[Metric]float64{Build: 0.01, Push: 0.05, BuildTotal: 0.08}},
			Sample{Mode: ApplyDirect, Run: i, Values: map[Metric]float64{Apply: 0.5}},
			Sample{Mode: ApplyDirectTen, Run: i, Values: map[Metric]float64{Apply: 0.9}},
		)
	}
	return r
}

func TestSummarize(t *testing.T) {
	r := sampleReport()
	if st := r.Summarize(KanikoCold, BaseImagePull); st != (Stat{N: 3, Min: 1, Median: 2, Max: 3}) {
		t.Errorf("cold = %+v", st)
	}
	if st := r.Summarize(KanikoWarm, BaseImagePull); st.N != 2 || st.Min != 0.2 || st.Max != 0.4 || math.Abs(st.Median-0.3) > 1e-9 {
		t.Errorf("warm = %+v (failed samples must not count)", st)
	}
	if st := r.Summarize(KanikoWarm, Push); st.N != 0 {
		t.Errorf("unmeasured metric = %+v", st)
	}
}

func TestGoals(t *testing.T) {
	goals := sampleReport().Goals()
	want := map[string]bool{
		"Direct build vs the floor":                            true,  // 0.1 / 0.08 = 1.25x
		"terraform apply of a changed binary, direct":          true,  // 0.5s
		"Ten direct builds in one apply vs one":                false, // 1.8x
		"First Kaniko build after cluster-up vs the next ones": true,  // 4.5s vs median(2.5, 3.5) = 3s: 1.5x
	}
	for _, g := range goals {
		w, ok := want[g.Name]
		if !ok {
			t.Errorf("unexpected goal %q", g.Name)
			continue
		}
		if g.Met == nil || *g.Met != w {
			t.Errorf("%s: met = %v, want %v (%s)", g.Name, g.Met, w, g.Measured)
		}
	}
}

func TestMarkdown(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"| Base image pull (direct: resolve base) | ~6.00s | 2.00s (1.00s to 3.00s) | 0.30s (0.20s to 0.40s) | 0.01s | - |",
		"| Executor peak memory | ~512Mi | 100Mi | - | - | - |",
		"38.0 MB compressed",
		"kaniko warm: 2 run(s), 1 failed (first: pod evicted)",
		"| Ten direct builds in one apply vs one | at most 1.5x | 0.90s vs 0.50s: 1.80x one | **no** |",
		"| Memory | 512Mi | 2Gi | 100Mi |",
		"- parallel kaniko: not asked for",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestBarsAddUpToTheMeasuredTotals(t *testing.T) {
	r := sampleReport()
	for _, b := range r.Bars() {
		sum := 0.0
		for _, s := range b.Segments {
			sum += s.value
		}
		if math.Abs(sum-b.Total) > 1e-9 {
			t.Errorf("bar %s: segments add up to %.3f, total %.3f", b.Label, sum, b.Total)
		}
		if b.Label == KanikoCold {
			want := r.Summarize(KanikoCold, BuildTotal).Median + r.Summarize(KanikoCold, RunFirstLog).Median
			if math.Abs(b.Total-want) > 1e-9 {
				t.Errorf("kaniko cold bar = %.3f, want build total + run = %.3f", b.Total, want)
			}
			other := false
			for _, s := range b.Segments {
				other = other || strings.HasPrefix(s.label, "Other")
			}
			if !other {
				t.Error("the time no phase accounts for has no segment")
			}
		}
	}
}

func TestJSONAndSVG(t *testing.T) {
	r := sampleReport()
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil || len(back.Samples) != len(r.Samples) || back.Samples[0].Values[BaseImagePull] != 3 {
		t.Fatalf("JSON round trip: %v %+v", err, back.Samples)
	}
	svg := r.SVG()
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	for _, want := range []string{KanikoCold, Direct, Floor, "study", "Base image pull (direct: resolve base): 2.00s", "Other (time no phase accounts for)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}
