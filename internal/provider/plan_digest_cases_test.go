package provider

// Cases of digests known at plan that a hostile review found broken
// (and fixed) or tried and found holding: several instances of one
// configuration, bases moved between plan and apply, multi-platform,
// retention and labels, unknown values, create_before_destroy, a
// prediction store that cannot be written.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

type planCheckFunc func(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse)

func (f planCheckFunc) CheckPlan(ctx context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	f(ctx, req, resp)
}

// pushBaseNamed pushes a distinct base image under base:1 (moves the tag).
func pushBaseNamed(t *testing.T, e *testEnv, env string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Env: []string{"MOVED=" + env}})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(e.registryHost+"/base:1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

func recordPlanned(address string, attrs map[string]*string) plancheck.PlanCheck {
	return planCheckFunc(func(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
		for _, rc := range req.Plan.ResourceChanges {
			if rc.Address == address {
				after, _ := rc.Change.After.(map[string]any)
				for a, p := range attrs {
					s, _ := after[a].(string)
					*p = s
				}
				return
			}
		}
		resp.Error = fmt.Errorf("%s not in plan", address)
	})
}

// (6) count = 2 with one identical configuration: both replaced, the
// plan shows both digests; the apply must not report a provider bug.
func TestPlanDigest_countIdenticalConfigsParallelism1(t *testing.T) {
	t.Setenv("TF_CLI_ARGS_apply", "-parallelism=1")
	countIdentical(t)
}

func TestPlanDigest_countIdenticalConfigsDefaultParallelism(t *testing.T) {
	countIdentical(t)
}

func countIdentical(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  count       = 2
  repository  = "%[1]s/count"
  context_dir = %[2]q
  executor    = "direct"
}
`, clusterRegistry, dir)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() { writeFile(t, filepath.Join(dir, "main"), "binary v2") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.app[0]", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					plancheck.ExpectKnownValue("onesbuild_image.app[1]", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
				}},
			},
		},
	})
}

// (3) base tag moved between plan and apply: apply gives the planned
// digest and base.
func TestPlanDigest_baseMovedBetweenPlanAndApply(t *testing.T) {
	e := newTestEnv(t)
	pushBaseNamed(t, e, "1")
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	planned := &plannedValues{address: "onesbuild_image.app"}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: executorConfig(e, dir, "direct")},
			{
				PreConfig: func() { writeFile(t, filepath.Join(dir, "main"), "binary v2") },
				Config:    executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					planned,
					planCheckFunc(func(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
						pushBaseNamed(t, e, "2")
					}),
				}},
				Check: planned.sameAsPlanned("digest", "image_ref", "id", "base_image_digest", "context_sha256", "executor_used"),
			},
		},
	})
}

// (6) context_files, tags, labels, build_args, retention; replacement by
// a changed file; auto executor.
func TestPlanDigest_contextFilesRetentionLabelsBuildArgs(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	config := func(v, executor string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository    = "%[1]s/kept"
  tags          = ["latest", "v1"]
  context_files = { "Dockerfile" = "FROM %[1]s/base:1\nARG V\nENV V=$V\nCOPY version /version\nLABEL x=$V\n", "version" = %[2]q }
  build_args    = { V = "abc" }
  labels        = { team = "a" }
  executor      = %[3]q
  retention {
    keep_last = 2
  }
}
`, clusterRegistry, v, executor)
	}
	for _, ex := range []string{"direct", "auto"} {
		t.Run(ex, func(t *testing.T) {
			planned := &plannedValues{address: "onesbuild_image.app"}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: e.factories(),
				Steps: []resource.TestStep{
					{Config: config("1", ex)},
					{
						Config: config("2", ex),
						ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
							plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
							planned,
						}},
						Check: planned.sameAsPlanned("digest", "image_ref", "id", "base_image_digest", "context_sha256", "executor_used"),
					},
					{
						// build_args change only.
						Config: strings.Replace(config("2", ex), `"abc"`, `"def"`, 1),
						ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
							planned,
						}},
						Check: planned.sameAsPlanned("digest", "image_ref", "id", "base_image_digest", "context_sha256", "executor_used"),
					},
				},
			})
		})
	}
}

// pushIndexBase pushes a two-platform base index at base:multi.
func pushIndexBase(t *testing.T, e *testEnv, tag string) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		pl, _ := v1.ParsePlatform(p)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = pl.OS, pl.Architecture
		img, _ = mutate.ConfigFile(img, cf)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
	}
	ref, _ := name.ParseReference(e.registryHost+"/base:"+tag, name.Insecure)
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
}

// (5) multi-platform replacement: platform_digests in the plan = applied.
func TestPlanDigest_multiPlatform(t *testing.T) {
	e := newTestEnv(t)
	pushIndexBase(t, e, "multi")
	dir := directContext(t, "FROM "+clusterRegistry+"/base:multi\nCOPY main /app/main\n")
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = "%[1]s/multi"
  context_dir = %[2]q
  executor    = "direct"
  platforms   = ["linux/amd64", "linux/arm64"]
}
`, clusterRegistry, dir)
	var plannedPD map[string]any
	planned := &plannedValues{address: "onesbuild_image.app"}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() { writeFile(t, filepath.Join(dir, "main"), "binary v2") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					planned,
					planCheckFunc(func(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
						for _, rc := range req.Plan.ResourceChanges {
							if rc.Address == "onesbuild_image.app" {
								after, _ := rc.Change.After.(map[string]any)
								plannedPD, _ = after["platform_digests"].(map[string]any)
							}
						}
						if len(plannedPD) != 2 {
							resp.Error = fmt.Errorf("planned platform_digests %v", plannedPD)
						}
					}),
				}},
				Check: resource.ComposeTestCheckFunc(
					planned.sameAsPlanned("digest", "image_ref", "id", "base_image_digest", "context_sha256", "executor_used"),
					func(s *terraform.State) error {
						a := s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes
						for p, d := range plannedPD {
							if a["platform_digests."+p] != d {
								return fmt.Errorf("platform %s applied %s planned %v", p, a["platform_digests."+p], d)
							}
						}
						return nil
					}),
			},
		},
	})
}

// (6) An unknown value in config at plan time (build_args from a
// resource replaced in the same apply): digest must be unknown, apply ok.
func TestPlanDigest_unknownConfigValue(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nARG V\nCOPY main /app/main\nENV V=$V\n")
	config := func(v string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "terraform_data" "v" {
  input = %[3]q
}
resource "onesbuild_image" "app" {
  repository  = "%[1]s/unknown"
  context_dir = %[2]q
  executor    = "direct"
  build_args  = { V = terraform_data.v.output }
  triggers    = { v = terraform_data.v.id }
}
`, clusterRegistry, dir, v)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config("1")},
			{
				Config: config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest")),
				}},
			},
		},
	})
}

// (6) for_each, different contexts, create_before_destroy, one changed
// and one unchanged; plus one where both change.
func TestPlanDigest_forEachCBD(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	a := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	b := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "a" {
  repository  = "%[1]s/fe-a"
  context_dir = %[2]q
  executor    = "direct"
  lifecycle {
    create_before_destroy = true
  }
}
resource "onesbuild_image" "b" {
  repository  = "%[1]s/fe-b"
  context_dir = %[3]q
  executor    = "direct"
  lifecycle {
    create_before_destroy = true
  }
}
`, clusterRegistry, a, b)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() { writeFile(t, filepath.Join(a, "main"), "binary v2") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.a", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
				}},
			},
			{
				PreConfig: func() {
					writeFile(t, filepath.Join(a, "main"), "binary v3")
					writeFile(t, filepath.Join(b, "main"), "binary v3")
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.a", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					plancheck.ExpectKnownValue("onesbuild_image.b", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
				}},
			},
		},
	})
}

// A prediction store that cannot be written: the plan does not show a
// digest the apply (another provider process) could not find again.
func TestPlanDigest_unwritablePredictionStoreAcrossProcesses(t *testing.T) {
	root := t.TempDir()
	notADir := filepath.Join(root, "predictions")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := sharedPredictions.dir
	sharedPredictions.dir = notADir
	t.Cleanup(func() { sharedPredictions.dir = saved })
	acrossProcesses(t, false)
}

// Control: the same with a writable store shows the digest.
func TestPlanDigest_writablePredictionStoreAcrossProcesses(t *testing.T) {
	acrossProcesses(t, true)
}

func acrossProcesses(t *testing.T, wantKnown bool) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	digest := plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest"))
	if wantKnown {
		digest = plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern))
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: executorConfig(e, dir, "direct")},
			{
				PreConfig: func() { writeFile(t, filepath.Join(dir, "main"), "binary v2") },
				Config:    executorConfig(e, dir, "direct"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
					digest,
				}},
				Check: contextHashIs(t, dir),
			},
		},
	})
}

var _ = regexp.MustCompile
