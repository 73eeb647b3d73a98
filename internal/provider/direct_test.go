package provider

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
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

// TestImageResource_aFailureAfterAPushIsTracked: the second tag cannot be
// pushed; the first was, so the resource is saved, tainted, with what
// was pushed, and the next apply replaces it.
func TestImageResource_aFailureAfterAPushIsTracked(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	e := newTestEnvWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/v1") {
				http.Error(w, "tag refused for the test", http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\n")
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = "%[1]s/partial"
  tags        = ["latest", "v1"]
  context_dir = %[2]q
  executor    = "direct"
}
`, clusterRegistry, dir)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config, ExpectError: regexp.MustCompile(`(?s)Registry Request Failed.*v1`)},
			{
				PreConfig: func() { refuse.Store(false) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Tracked and tainted: replaced, not created from nothing.
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("tagged_refs"), knownvalue.ListSizeExact(2)),
				},
			},
		},
	})
}

// pushMultiBase puts an index of linux/amd64 and linux/arm64 images at
// <cluster registry>/multi:1.
func pushMultiBase(t *testing.T, e *testEnv) {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, _ := name.ParseReference(e.registryHost+"/multi:1", name.Insecure)
	if err := remote.WriteIndex(ref, mutate.AppendManifests(empty.Index, adds...)); err != nil {
		t.Fatal(err)
	}
}

// TestImageResource_platforms: two platforms give an index whose images
// are in state; the data source lists them; an image of the index
// deleted out of band is rebuilt.
func TestImageResource_platforms(t *testing.T) {
	e := newTestEnv(t)
	pushMultiBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/multi:1\nARG TARGETARCH\nCOPY main /app/main-$TARGETARCH\n")
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = "%[1]s/multi-app"
  context_dir = %[2]q
  executor    = "direct"
  platforms   = ["linux/amd64", "linux/arm64"]
}

data "onesbuild_image" "app" {
  repository = onesbuild_image.app.repository
  digest     = onesbuild_image.app.digest
}
`, clusterRegistry, dir)
	var arm64 string
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("platform_digests"), knownvalue.MapSizeExact(2)),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("platform_sizes_bytes"), knownvalue.MapSizeExact(2)),
					statecheck.ExpectKnownValue("data.onesbuild_image.app", tfjsonpath.New("platforms"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("linux/amd64"), knownvalue.StringExact("linux/arm64")})),
					statecheck.ExpectKnownValue("data.onesbuild_image.app", tfjsonpath.New("media_type"), knownvalue.StringExact("application/vnd.oci.image.index.v1+json")),
				},
				Check: func(s *terraform.State) error {
					arm64 = s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["platform_digests.linux/arm64"]
					if !digestPattern.MatchString(arm64) {
						return fmt.Errorf("platform_digests.linux/arm64 = %q", arm64)
					}
					return nil
				},
			},
			{
				// The arm64 image goes: the next plan builds again.
				PreConfig: func() {
					ref, _ := name.ParseReference(e.registryHost+"/multi-app@"+arm64, name.Insecure)
					if err := remote.Delete(ref); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// rebuild_on_base_change: a base tag moved since the build plans a
// replacement on refresh (the new base digest in state after the apply);
// without it, the same move changes nothing.
func TestImageResource_rebuildOnBaseChange(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\n")
	config := func(rebuild bool) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository             = "%[1]s/rebased"
  context_dir            = %[2]q
  executor               = "direct"
  rebuild_on_base_change = %[3]t
}
`, clusterRegistry, dir, rebuild)
	}
	var firstBase string
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config: config(true),
				Check: func(s *terraform.State) error {
					firstBase = s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["base_image_digest"]
					return nil
				},
			},
			// Nothing moved: nothing to do.
			{Config: config(true), PlanOnly: true},
			{
				PreConfig: func() { pushBase(t, e) }, // base:1 is a new image now
				Config:    config(true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
				}},
				Check: func(s *terraform.State) error {
					if now := s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["base_image_digest"]; now == firstBase || now == "" {
						return fmt.Errorf("base_image_digest %q after the rebuild, the old one was %q", now, firstBase)
					}
					return nil
				},
			},
			// Off: a move is not a change.
			{
				PreConfig: func() { pushBase(t, e) },
				Config:    config(false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionUpdate),
				}},
			},
			{Config: config(false), PlanOnly: true},
		},
	})
}
