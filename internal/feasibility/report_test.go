package feasibility

import (
	"encoding/json"
	"math"
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
			Sample{Mode: Direct, Run: i, Values: map[Metric]float64{BaseImagePull: 0.01, Build: 0.02, Push: 0.05, BuildTotal: 0.1, ArchitectureCheck: 0.002}},
			Sample{Mode: DirectAttested, Run: i, Values: map[Metric]float64{BuildTotal: 0.11, Attach: 0.12}},
			Sample{Mode: DirectTwoPlatforms, Run: i, Values: map[Metric]float64{BaseImagePull: 0.02, Build: 0.04, Push: 0.07, BuildTotal: 0.14, ArchitectureCheck: 0.003}},
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

func TestJSON(t *testing.T) {
	r := sampleReport()
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil || len(back.Samples) != len(r.Samples) || back.Samples[0].Values[BaseImagePull] != 3 {
		t.Fatalf("JSON round trip: %v %+v", err, back.Samples)
	}
}
