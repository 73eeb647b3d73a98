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
		Versions:  map[string]string{"kubernetes": "v1.37.2", "kaniko": "v1.24.0", "kind": "v0.33.0"},
		BaseImage: "ones/plugin-host-node:v6.33.1", BaseImageBytes: 38_000_000,
		ExecutorResources: map[string]string{"requests.cpu": "500m", "requests.memory": "512Mi", "limits.memory": "2Gi"},
	}}
	for i, v := range []float64{3, 1, 2} {
		r.Samples = append(r.Samples, Sample{Mode: "cold", Run: i + 1, Values: map[Metric]float64{BaseImagePull: v, Build: 0.5, PeakMemory: 100 * 1024 * 1024}})
	}
	for i, v := range []float64{0.4, 0.2} {
		r.Samples = append(r.Samples, Sample{Mode: "warm", Run: i + 1, Values: map[Metric]float64{BaseImagePull: v}})
	}
	r.Samples = append(r.Samples, Sample{Mode: "warm", Run: 3, Values: map[Metric]float64{BaseImagePull: 99}, Error: "pod evicted"})
	return r
}

func TestSummarize(t *testing.T) {
	r := sampleReport()
	if st := r.Summarize("cold", BaseImagePull); st != (Stat{N: 3, Min: 1, Median: 2, Max: 3}) {
		t.Errorf("cold = %+v", st)
	}
	if st := r.Summarize("warm", BaseImagePull); st.N != 2 || st.Min != 0.2 || st.Max != 0.4 || math.Abs(st.Median-0.3) > 1e-9 {
		t.Errorf("warm = %+v (failed samples must not count)", st)
	}
	if st := r.Summarize("warm", Push); st.N != 0 {
		t.Errorf("unmeasured metric = %+v", st)
	}
}

func TestMarkdown(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"| Base image pull | ~6.00s | 1.00s | 2.00s | 3.00s | 0.20s | 0.30s | 0.40s |",
		"| Executor peak memory | ~512Mi | 100Mi | 100Mi | 100Mi | - | - | - |",
		"38.0 MB compressed",
		"- warm: 2 successful run(s), 1 failed.",
		"| CPU | 500m | none | - |",
		"| Memory | 512Mi | 2Gi | 100Mi |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
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
	if err := json.Unmarshal(data, &back); err != nil || len(back.Samples) != 6 || back.Samples[0].Values[BaseImagePull] != 3 {
		t.Fatalf("JSON round trip: %v %+v", err, back.Samples)
	}
	svg := r.SVG()
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	for _, want := range []string{"cold (median)", "warm (median)", "study", "Base image pull: 2.00s"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}
