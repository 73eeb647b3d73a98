package provider

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// plannedValues records attributes of one resource as the plan shows
// them, for checks after the apply.
type plannedValues struct {
	address string
	got     map[string]any
}

func (p *plannedValues) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != p.address {
			continue
		}
		after, _ := rc.Change.After.(map[string]any)
		p.got = after
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", p.address)
}

// sameAsPlanned checks that the state holds what the plan showed.
func (p *plannedValues) sameAsPlanned(attrs ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[p.address]
		if !ok {
			return fmt.Errorf("%s not in state", p.address)
		}
		for _, a := range attrs {
			planned, ok := p.got[a].(string)
			if !ok || planned == "" {
				return fmt.Errorf("the plan did not show %s: %v", a, p.got[a])
			}
			if rs.Primary.Attributes[a] != planned {
				return fmt.Errorf("%s = %s after apply, the plan showed %s", a, rs.Primary.Attributes[a], planned)
			}
		}
		return nil
	}
}

// editFile changes a file of the context between the plan and the apply
// (plan checks run after terraform plan and before terraform apply of
// the saved plan).
type editFile struct{ path, content string }

func (e editFile) CheckPlan(_ context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = os.WriteFile(e.path, []byte(e.content), 0o644)
}

// TestImageResource_planShowsTheDirectDigest: a direct build replaced
// because its context changed shows in the plan the digest, image_ref,
// base and context hash that the apply then produces; a context changed
// again between that plan and its apply fails with the clean error,
// pushes nothing, and the next plan and apply converge.
func TestImageResource_planShowsTheDirectDigest(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nWORKDIR /app\nCOPY main /app/main\nENTRYPOINT [\"/app/main\"]\n")
	main := filepath.Join(dir, "main")
	planned := &plannedValues{address: "onesbuild_image.app"}
	shown := []string{"digest", "image_ref", "id", "base_image_digest", "context_sha256", "executor_used"}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				// A create has no refresh before it: known after apply.
				Config: executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest")),
				}},
			},
			{
				PreConfig: func() { writeFile(t, main, "binary v2") },
				Config:    executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					planned,
				}},
				Check: resource.ComposeTestCheckFunc(planned.sameAsPlanned(shown...), contextHashIs(t, dir)),
			},
			{
				// Changed again after the plan was made.
				PreConfig: func() { writeFile(t, main, "binary v3") },
				Config:    executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					editFile{path: main, content: "binary v4"},
				}},
				ExpectError: regexp.MustCompile(`(?s)Build Context Changed Since Plan.*would not build the image the plan showed.*Run\s+terraform\s+apply\s+again`),
			},
			{
				// The failed apply destroyed the old instance first (no
				// create_before_destroy): a create, which converges.
				Config: executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest")),
				}},
				Check: contextHashIs(t, dir),
			},
			{
				// And a change after it shows the digest again.
				PreConfig: func() { writeFile(t, main, "binary v5") },
				Config:    executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
					planned,
				}},
				Check: resource.ComposeTestCheckFunc(planned.sameAsPlanned(shown...), contextHashIs(t, dir)),
			},
		},
	})
}

// TestImageResource_planDigestOnlyForDirect: a Kaniko build's digest
// stays known after apply.
func TestImageResource_planDigestOnlyForDirect(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: executorConfig(e, dir, "kaniko")},
			{
				PreConfig: func() { writeFile(t, filepath.Join(dir, "main"), "binary v2") },
				Config:    executorConfig(e, dir, "kaniko"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest")),
				}},
			},
		},
	})
}

// contextHashIs checks the state's context_sha256 against the directory
// as it is when the check runs.
func contextHashIs(t *testing.T, dir string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		return resource.TestCheckResourceAttr("onesbuild_image.app", "context_sha256", hashOf(t, dir))(s)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestImageResource_planDigestWithCreateBeforeDestroy: the replacement
// is built before the old instance goes; a context changed after the plan
// fails cleanly and keeps the old instance, whose next plan shows the
// digest again.
func TestImageResource_planDigestWithCreateBeforeDestroy(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	main := filepath.Join(dir, "main")
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = "%[1]s/cbd"
  context_dir = %[2]q
  executor    = "direct"
  lifecycle {
    create_before_destroy = true
  }
}
`, clusterRegistry, dir)
	planned := &plannedValues{address: "onesbuild_image.app"}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() { writeFile(t, main, "binary v2") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					editFile{path: main, content: "binary v3"},
				}},
				ExpectError: regexp.MustCompile(`Build Context Changed Since Plan`),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
					planned,
				}},
				Check: resource.ComposeTestCheckFunc(planned.sameAsPlanned("digest", "image_ref", "base_image_digest", "context_sha256"), contextHashIs(t, dir)),
			},
		},
	})
}

// flipSwitch sets a switch between the plan and the apply.
type flipSwitch struct {
	to *atomic.Bool
	on bool
}

func (f flipSwitch) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	f.to.Store(f.on)
}

// TestImageResource_planDigestUnknownWhenTheRegistryIsDown: a plan made
// while the registry does not answer leaves the digest known after
// apply, and the apply (registry back) builds.
func TestImageResource_planDigestUnknownWhenTheRegistryIsDown(t *testing.T) {
	var down atomic.Bool
	e := newTestEnvWith(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "down", http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: executorConfig(e, dir, "direct")},
			{
				PreConfig: func() {
					writeFile(t, filepath.Join(dir, "main"), "binary v2")
					down.Store(true)
				},
				Config: executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest")),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("base_image_digest")),
					flipSwitch{to: &down, on: false},
				}},
				Check: contextHashIs(t, dir),
			},
		},
	})
}

// TestImageResource_planDigestWithAuto: auto that can build directly
// shows the digest and executor_used = "direct" in the plan.
func TestImageResource_planDigestWithAuto(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	planned := &plannedValues{address: "onesbuild_image.app"}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: executorConfig(e, dir, "auto")},
			{
				PreConfig: func() { writeFile(t, filepath.Join(dir, "main"), "binary v2") },
				Config:    executorConfig(e, dir, "auto"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("executor_used"), knownvalue.StringExact("direct")),
					planned,
				}},
				Check: planned.sameAsPlanned("digest", "image_ref", "base_image_digest", "context_sha256", "executor_used"),
			},
		},
	})
}
