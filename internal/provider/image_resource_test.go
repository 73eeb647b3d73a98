package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

var digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// adoptedOnImport are the attributes an import cannot know: they come
// from the configuration, or from a build, on the first apply after it.
var adoptedOnImport = []string{
	"automount_service_account_token", "base_image_digest", "skip_architecture_check", "build_pod", "context_dir", "context_sha256", "creation_time", "delete_on_destroy", "dockerfile",
	"executor", "executor_used", "insecure", "keep_build_pod", "namespace", "rebuild_on_base_change", "reproducible", "resources", "skip_tls_verify",
	"tagged_refs", "tags", "timings", "timeouts",
}

func writeContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile":    "FROM registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1\nWORKDIR /usr/local/app\nCOPY main /usr/local/app/main\nENTRYPOINT [\"/usr/local/app/main\"]\n",
		"main":          "pretend binary v1",
		".dockerignore": "*.log\n",
	}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func dirConfig(e *testEnv, dir string, extra string) string {
	return e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = "%[1]s/new-image"
  tags        = ["latest", "v1"]
  context_dir = %[2]q
  %[3]s
}
`, clusterRegistry, dir, extra)
}

func hashOf(t *testing.T, dir string) string {
	t.Helper()
	sum, err := buildcontext.Source{Dir: dir}.Hash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum.SHA256
}

func TestImageResource_lifecycle(t *testing.T) {
	e := newTestEnv(t)
	dir := writeContext(t)
	repo := clusterRegistry + "/new-image"
	reg := &registry.Client{Hosts: map[string]string{clusterRegistry: e.registryHost}, Insecure: []string{clusterRegistry}}
	sameDigest := statecheck.CompareValue(compare.ValuesSame())
	newDigest := statecheck.CompareValue(compare.ValuesDiffer())
	rebuilt := statecheck.CompareValue(compare.ValuesSame())
	var builtDigest string

	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy: func(*terraform.State) error {
			// delete_on_destroy was set in the last step.
			if _, err := reg.Describe(context.Background(), repo, builtDigest); err == nil {
				return fmt.Errorf("manifest %s still in the registry after destroy", builtDigest)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: dirConfig(e, dir, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("context_sha256")),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("context_sha256"), knownvalue.StringExact(hashOf(t, dir))),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("image_ref"), knownvalue.StringRegexp(regexp.MustCompile("^"+regexp.QuoteMeta(repo)+`@sha256:[a-f0-9]{64}$`))),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("tagged_refs"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact(repo + ":latest"), knownvalue.StringExact(repo + ":v1"),
					})),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("namespace"), knownvalue.StringExact("builds")),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("build_pod"), knownvalue.StringRegexp(regexp.MustCompile(`^builds/onesbuild-new-image-[0-9a-f]{10}$`))),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("image_size_bytes"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("timings").AtMapKey("total"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("timings").AtMapKey("executor_start"), knownvalue.NotNull()),
					sameDigest.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest")),
					newDigest.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest")),
				},
				Check: func(*terraform.State) error {
					if n := e.cluster.Builds(); n != 1 {
						return fmt.Errorf("%d builds ran, want 1", n)
					}
					if pods := e.cluster.Pods("builds"); len(pods) != 0 {
						return fmt.Errorf("build pod %s left behind", pods[0].Name)
					}
					return nil
				},
			},
			{
				// Nothing changed, and only the mtime of a file changed:
				// an empty plan and no build.
				PreConfig: func() {
					later := time.Now().Add(time.Hour)
					if err := os.Chtimes(filepath.Join(dir, "main"), later, later); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, "debug.log"), []byte("ignored"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: dirConfig(e, dir, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameDigest.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest"))},
				Check: func(*terraform.State) error {
					if n := e.cluster.Builds(); n != 1 {
						return fmt.Errorf("%d builds ran after an unchanged plan, want 1", n)
					}
					return nil
				},
			},
			{
				// Settings that only shape the pod are updated in place.
				Config: dirConfig(e, dir, `delete_on_destroy = true
  resources {
    requests = { cpu = "500m", memory = "512Mi" }
  }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameDigest.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest"))},
			},
			{
				// A changed file replaces the image.
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(dir, "main"), []byte("pretend binary v2"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: dirConfig(e, dir, "delete_on_destroy = true\n  resources {\n    requests = { cpu = \"500m\", memory = \"512Mi\" }\n  }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionReplace),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest")),
					plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("context_sha256")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					newDigest.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest")),
					rebuilt.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest")),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("context_sha256"), knownvalue.StringFunc(func(v string) error {
						if want := hashOf(t, dir); v != want {
							return fmt.Errorf("context_sha256 = %s, want the hash of what was built, %s", v, want)
						}
						return nil
					})),
				},
				Check: func(s *terraform.State) error {
					builtDigest = s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"]
					return nil
				},
			},
			{
				// A tag moved elsewhere out of band: the tag is pointed back
				// at the built image in place, without a build.
				PreConfig: func() {
					other, _ := random.Image(64, 1)
					ref, _ := name.ParseReference(e.registryHost+"/new-image:v1", name.Insecure)
					if err := remote.Write(ref, other); err != nil {
						t.Fatal(err)
					}
				},
				Config: dirConfig(e, dir, "delete_on_destroy = true\n  resources {\n    requests = { cpu = \"500m\", memory = \"512Mi\" }\n  }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("tagged_refs"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact(repo + ":latest"), knownvalue.StringExact(repo + ":v1"),
					})),
				}},
				ConfigStateChecks: []statecheck.StateCheck{rebuilt.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest"))},
				Check: func(s *terraform.State) error {
					if n := e.cluster.Builds(); n != 2 {
						return fmt.Errorf("%d builds ran; a moved tag must not rebuild", n)
					}
					got, err := reg.ResolveTag(context.Background(), repo, "v1")
					if want := s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"]; err != nil || got != want {
						return fmt.Errorf("v1 = %s (%v), want it back on %s", got, err, want)
					}
					return nil
				},
			},
			{
				// The image deleted out of band: the next plan recreates it.
				PreConfig: func() {
					if err := reg.Delete(context.Background(), repo, builtDigest); err != nil {
						t.Fatal(err)
					}
				},
				Config: dirConfig(e, dir, "delete_on_destroy = true\n  resources {\n    requests = { cpu = \"500m\", memory = \"512Mi\" }\n  }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionCreate),
				}},
				Check: func(s *terraform.State) error {
					builtDigest = s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"]
					if n := e.cluster.Builds(); n != 3 {
						return fmt.Errorf("%d builds ran, want 3", n)
					}
					return nil
				},
			},
			{
				ResourceName:            "onesbuild_image.app",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: adoptedOnImport,
			},
		},
	})
}

func TestImageResource_importAdoptsWithoutBuilding(t *testing.T) {
	e := newTestEnv(t)
	img, _ := random.Image(256, 1)
	ref, _ := name.ParseReference(e.registryHost+"/imported:old", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	id := clusterRegistry + "/imported@" + d.String()
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = "%s/imported"
  context_files     = { "x" = "y" }
  dockerfile_inline = "FROM scratch\nCOPY x /x\n"
}
`, clusterRegistry)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       "onesbuild_image.app",
				ImportState:        true,
				ImportStateId:      id,
				ImportStatePersist: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringExact(d.String())),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("tagged_refs"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact(clusterRegistry + "/imported:latest"),
					})),
				},
				Check: func(*terraform.State) error {
					if e.cluster.Builds() != 0 {
						return fmt.Errorf("adopting an imported image ran %d builds", e.cluster.Builds())
					}
					return nil
				},
			},
			{
				// After adoption, input changes replace again.
				Config:             strings.Replace(config, `COPY x /x`, `COPY x /y`, 1),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func TestImageResource_buildFailureLeavesNothing(t *testing.T) {
	e := newTestEnv(t)
	e.cluster.ExitCode = 1
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = "%s/broken"
  context_files     = { "x" = "y" }
  dockerfile_inline = "FROM scratch\nRUN false\n"
}
`, clusterRegistry),
			ExpectError: regexp.MustCompile(`(?s)Image Build Failed.*Kaniko exited with code 1.*Original error`),
		}},
	})
	if pods := e.cluster.Pods("builds"); len(pods) != 0 {
		t.Fatalf("build pod %s left behind after a failure", pods[0].Name)
	}
}

func TestImageResource_planValidation(t *testing.T) {
	dir := writeContext(t)
	missing := filepath.Join(dir, "does-not-exist")
	// A Dockerfile linked to a file outside the context: its content
	// (here the word SECRET) must not reach the plan.
	outside := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(outside, []byte("SECRET is the first word\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	linked := writeContext(t)
	up, err := filepath.Rel(linked, outside)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(up, filepath.Join(linked, "Linked.Dockerfile")); err != nil {
		t.Fatal(err)
	}
	escape := writeContext(t)
	if err := os.WriteFile(filepath.Join(escape, "Dockerfile"), []byte("FROM "+clusterRegistry+"/base:1\nCOPY ../.docker/config.json /x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body string
		want       string
	}{
		{"two context sources", fmt.Sprintf("context_dir = %q\n context_url = \"git://example.com/app.git\"", dir), `(?s)More Than One Build Context.*context_dir and context_url are set.*Keep exactly one`},
		{"three context sources", fmt.Sprintf("context_dir = %q\n context_files = { Dockerfile = \"FROM scratch\" }\n context_url = \"git://example.com/app.git\"", dir), `(?s)More Than One Build Context.*context_dir and context_files and context_url are set`},
		{"no context source", ``, `(?s)No Build Context.*Set exactly one of context_dir.*context_files.*context_url`},
		{"missing context dir", fmt.Sprintf("context_dir = %q", missing), `(?s)Build Context Not Readable.*does-not-exist`},
		{"missing Dockerfile", fmt.Sprintf("context_dir = %q\n dockerfile = \"Prod.Dockerfile\"", dir), `(?s)Dockerfile Not Found In Context.*Prod.Dockerfile`},
		{"files without Dockerfile", `context_files = { "main" = "x" }`, `Dockerfile Not Found In Context`},
		{"unknown platform", fmt.Sprintf("context_dir = %q\n platform = \"linux/amd65\"", dir), `(?s)Invalid Platform.*not a known os/arch`},
		{"bad tag", fmt.Sprintf("context_dir = %q\n tags = [\"-bad\"]", dir), `(?s)tag "-bad" is not valid`},
		{"bad cache ttl", fmt.Sprintf("context_dir = %q\n cache {\n enabled = true\n ttl = \"a week\"\n }", dir), `(?s)Invalid Cache Ttl`},
		{"bad quantity", fmt.Sprintf("context_dir = %q\n resources {\n requests = { cpu = \"lots\" }\n }", dir), `Invalid Resource Quantity`},
		{"bad context url", `context_url = "ftp://example.com/ctx.tgz"`, `must start with one of`},
		{"a Dockerfile linked outside the context", fmt.Sprintf("context_dir = %q\n dockerfile = \"Linked.Dockerfile\"", linked), `(?s)Dockerfile Outside The Build Context`},
		{"credentials with a # in the password", `context_url = "https://user:ab#cd@git.example.com/app.git"`, `carries credentials`},
		{"credentials with a / in the password", `context_url = "git://user:p/w@git.example.com/app.git"`, `carries credentials`},
		{"a COPY source above the context", fmt.Sprintf("context_dir = %q", escape), `(?s)leaves the build context`},
		{"inline with url", `context_url = "git://example.com/app.git"
 dockerfile_inline = "FROM scratch"`, `Invalid Attribute Combination`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: unconfiguredFactories(),
				Steps: []resource.TestStep{{
					Config: fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository = "%s/app"
  %s
}
`, clusterRegistry, tt.body),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tt.want),
				}},
			})
		})
	}
	// A context known only at apply is no missing context; two sources
	// are two whether or not a third is known.
	t.Run("context known at apply", func(t *testing.T) {
		resource.UnitTest(t, resource.TestCase{
			ProtoV6ProviderFactories: unconfiguredFactories(),
			Steps: []resource.TestStep{{
				Config: fmt.Sprintf(`
resource "terraform_data" "dir" { input = %q }
resource "onesbuild_image" "app" {
  repository  = "%s/app"
  context_dir = terraform_data.dir.output
}
`, dir, clusterRegistry),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			}, {
				Config: fmt.Sprintf(`
resource "terraform_data" "dir" { input = %q }
resource "onesbuild_image" "app" {
  repository    = "%s/app"
  context_dir   = terraform_data.dir.output
  context_files = { Dockerfile = "FROM scratch" }
  context_url   = "git://example.com/app.git"
}
`, dir, clusterRegistry),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)More Than One Build Context.*context_files and context_url are set`),
			}},
		})
	})
	t.Run("repository without registry host", func(t *testing.T) {
		resource.UnitTest(t, resource.TestCase{
			ProtoV6ProviderFactories: unconfiguredFactories(),
			Steps: []resource.TestStep{{
				Config:      fmt.Sprintf("resource \"onesbuild_image\" \"app\" {\n repository = \"new-image\"\n context_dir = %q\n}\n", dir),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`must start with a registry host`),
			}},
		})
	})
}

func TestImageResource_noClusterIsAClearError(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: unconfiguredFactories(),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = "%s/app"
  context_files     = { "x" = "y" }
  dockerfile_inline = "FROM scratch"
}
`, clusterRegistry),
			ExpectError: regexp.MustCompile(`(?s)Kubernetes Cluster Not Configured.*config_path`),
		}},
	})
}
