package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// pushBase puts a small base image at <cluster registry>/base:1.
func pushBase(t *testing.T, e *testEnv) {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(e.registryHost+"/base:1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}

func directContext(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range map[string]string{"Dockerfile": dockerfile, "main": "binary v1"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func executorConfig(e *testEnv, dir, executor string) string {
	return e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = "%[1]s/direct"
  context_dir = %[2]q
  executor    = %[3]q
}
`, clusterRegistry, dir, executor)
}

func TestImageResource_directBuildsWithoutAPodAndReproducibly(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nWORKDIR /app\nCOPY main /app/main\nENTRYPOINT [\"/app/main\"]\n")
	same := statecheck.CompareValue(compare.ValuesSame())
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config: executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("executor_used"), knownvalue.StringExact("direct")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("executor_used"), knownvalue.StringExact("direct")),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("base_image_digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("build_pod"), knownvalue.Null()),
					same.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest")),
				},
				Check: func(*terraform.State) error {
					if n := e.cluster.Builds(); n != 0 {
						return fmt.Errorf("a direct build created %d pods", n)
					}
					return nil
				},
			},
			{
				// Taint and apply again: the same inputs, the same digest.
				Taint:  []string{"onesbuild_image.app"},
				Config: executorConfig(e, dir, "direct"),
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest")),
				},
			},
		},
	})
}

func TestImageResource_executorEligibilityAtPlan(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	withRun := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\nRUN chmod +x /main\n")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config:      executorConfig(e, withRun, "direct"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Dockerfile Not Eligible For A Direct Build.*RUN on line 3`),
			},
			{
				Config: executorConfig(e, withRun, "auto"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("executor_used"), knownvalue.StringExact("kaniko")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("executor_used"), knownvalue.StringExact("kaniko")),
				},
				Check: func(*terraform.State) error {
					if n := e.cluster.Builds(); n != 1 {
						return fmt.Errorf("auto with a RUN step ran %d Kaniko pods, want 1", n)
					}
					return nil
				},
			},
		},
	})
}

// TestImageResource_autoFallsBackWhenTheRegistryIsUnreachable: the
// cluster can push (the fake cluster's Kaniko reaches the registry), but
// this machine cannot, so auto builds with Kaniko.
func TestImageResource_autoFallsBackWhenTheRegistryIsUnreachable(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\n")
	config := fmt.Sprintf(`
provider "onesbuild" {
  namespace           = "builds"
  insecure_registries = [%[1]q]
  registry_hosts      = { %[1]q = "127.0.0.1:1" }
}

resource "onesbuild_image" "app" {
  repository  = "%[1]s/auto"
  context_dir = %[2]q
  executor    = "auto"
}
`, clusterRegistry, dir)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				// Eligible: only the build finds out where it runs.
				plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("executor_used")),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("executor_used"), knownvalue.StringExact("kaniko")),
			},
			Check: func(*terraform.State) error {
				if n := e.cluster.Builds(); n != 1 {
					return fmt.Errorf("%d Kaniko builds ran, want 1", n)
				}
				return nil
			},
		}},
	})
}
