package feasibility

import (
	"strings"
	"testing"
	"time"
)

func TestGoals(t *testing.T) {
	goals := sampleReport().Goals()
	want := map[string]bool{
		"Direct build vs the floor":                                    true,  // 0.1 / 0.08 = 1.25x
		"terraform apply of a changed binary, direct":                  true,  // 0.5s
		"Ten direct builds in one apply vs one":                        false, // 1.8x
		"First Kaniko build after cluster-up vs the next ones":         true,  // 4.5s vs median(2.5, 3.5) = 3s: 1.5x
		"Two platforms direct vs one platform":                         false, // 0.14 / 0.1 = 1.4x
		"Architecture check in a direct build of the study's image":    true,  // 2 ms
		"Direct build with SBOM, provenance and signatures vs without": false, // 0.11 + 0.12 - 0.1 = +0.13s
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

func TestMonorepoGoals(t *testing.T) {
	sample := func(mode string, apply, busy float64) Sample {
		return Sample{Mode: mode, Run: 1, Values: map[Metric]float64{Apply: apply, CPUBusy: busy}}
	}
	for _, tt := range []struct {
		name    string
		samples []Sample
		wantMet map[string]bool
		// wantMeasured are goals' measured cells, where the test names one.
		wantMeasured map[string]string
		unknowns     int
	}{
		{
			name: "every target met; Kaniko by the ratio",
			samples: []Sample{sample(MonorepoPlanUnchanged, 1.4, 0.5), sample(MonorepoApplyOneChanged, 1.9, 0.5), sample(MonorepoApplyAllDirect, 5.9, 0.9),
				sample(MonorepoApplyOneKaniko, 4, 0.5), sample(MonorepoApplyAllKaniko, 29, 0.5)}, // 7.25x <= 7.5x
			wantMet: map[string]bool{"Monorepo (120 services): plan with nothing changed": true, "Monorepo (120 services): apply after one direct service changed": true,
				"Monorepo: apply after all 100 direct services changed": true, "Monorepo: 20 Kaniko services changed vs one": true},
		},
		{
			name: "over every limit, but the CPUs saturated during the Kaniko builds",
			samples: []Sample{sample(MonorepoPlanUnchanged, 1.6, 0.5), sample(MonorepoPlanTerraformOnly, 0.9, 0.5), sample(MonorepoApplyOneChanged, 2.1, 0.5), sample(MonorepoApplyAllDirect, 6.1, 0.9),
				sample(MonorepoApplyOneKaniko, 4, 0.5), sample(MonorepoApplyAllKaniko, 40, 0.95)},
			wantMeasured: map[string]string{"Monorepo (120 services): plan with nothing changed": "1.60s; Terraform alone, 120 terraform_data: 0.90s"},
			wantMet: map[string]bool{"Monorepo (120 services): plan with nothing changed": false, "Monorepo (120 services): apply after one direct service changed": false,
				"Monorepo: apply after all 100 direct services changed": false, "Monorepo: 20 Kaniko services changed vs one": true},
		},
		{
			name:    "Kaniko too slow and the CPUs idle",
			samples: []Sample{sample(MonorepoApplyOneKaniko, 4, 0.5), sample(MonorepoApplyAllKaniko, 40, 0.5)},
			wantMet: map[string]bool{"Monorepo: 20 Kaniko services changed vs one": false}, unknowns: 3,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			size := DefaultMonorepo
			r := Report{Samples: tt.samples, Monorepo: &size}
			goals := r.monorepoGoals()
			if len(goals) != 4 {
				t.Fatalf("%d goals, want 4", len(goals))
			}
			unknown := 0
			for _, g := range goals {
				if g.Met == nil {
					unknown++
					continue
				}
				if w, ok := tt.wantMet[g.Name]; !ok || *g.Met != w {
					t.Errorf("%s: met = %v, want %v (%s)", g.Name, *g.Met, w, g.Measured)
				}
			}
			for _, g := range goals {
				if w, ok := tt.wantMeasured[g.Name]; ok && g.Measured != w {
					t.Errorf("%s: measured %q, want %q", g.Name, g.Measured, w)
				}
			}
			if unknown != tt.unknowns {
				t.Errorf("%d goals not evaluated, want %d", unknown, tt.unknowns)
			}
			if md := r.Markdown(); !strings.Contains(md, "## A monorepo in one configuration") || !strings.Contains(md, MonorepoApplyAllKaniko) {
				t.Errorf("the report lacks the monorepo's table:\n%s", md)
			}
		})
	}
	if (Report{}).monorepoGoals() != nil {
		t.Error("goals for a monorepo that did not run")
	}
}

func TestCPUBusy(t *testing.T) {
	before, err := readCPU()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	after, err := readCPU()
	if err != nil {
		t.Fatal(err)
	}
	if b := after.busySince(before); b <= 0 || b > 1 {
		t.Errorf("busy share %.2f after spinning a core, want in (0, 1]", b)
	}
}
