package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// studyContextMulti writes the study's context for two platforms: the
// hello server compiled for each under bin/<arch>/main, copied by
// COPY bin/${TARGETARCH}/main.
func studyContextMulti(t *testing.T, base string) string {
	t.Helper()
	dir := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		out := filepath.Join(dir, "bin", arch, "main")
		c := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "../../examples/quickstart/hello")
		c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if msg, err := c.CombinedOutput(); err != nil {
			t.Fatalf("building the hello server for %s: %v\n%s", arch, err, msg)
		}
	}
	df := "FROM " + base + "\nARG TARGETARCH\nWORKDIR /usr/local/app\nCOPY bin/${TARGETARCH}/main /usr/local/app/main\nENTRYPOINT [\"/usr/local/app/main\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAccImageResource_directTwoPlatforms builds the study's image for
// linux/amd64 and linux/arm64 without a pod: an index of two images on
// the base's images for each, each with its own binary; the amd64 image
// runs in the cluster; a taint gives the same index.
func TestAccImageResource_directTwoPlatforms(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	dir := studyContextMulti(t, a.env.BaseImageMulti)
	repo := uniqueRepo(a, "two-platforms")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "study" {
  repository  = %q
  context_dir = %q
  executor    = "direct"
  platforms   = ["linux/amd64", "linux/arm64"]
}
`, repo, dir)
	same := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("platform_digests"), knownvalue.MapSizeExact(2)),
					same.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest")),
				},
				Check: func(s *terraform.State) error {
					attrs := s.RootModule().Resources["onesbuild_image.study"].Primary.Attributes
					ref, err := name.ParseReference(a.reg.Address(repo)+"@"+attrs["digest"], name.Insecure)
					if err != nil {
						return err
					}
					desc, err := remote.Get(ref)
					if err != nil {
						return err
					}
					if desc.MediaType != types.OCIImageIndex {
						return fmt.Errorf("the image is a %s, want an OCI index", desc.MediaType)
					}
					for _, arch := range []string{"amd64", "arm64"} {
						d := attrs["platform_digests.linux/"+arch]
						cref, _ := name.ParseReference(a.reg.Address(repo)+"@"+d, name.Insecure)
						img, err := remote.Image(cref)
						if err != nil {
							return fmt.Errorf("the %s image: %w", arch, err)
						}
						cfg, _ := img.ConfigFile()
						if cfg.Architecture != arch {
							return fmt.Errorf("the %s image's config says %s", arch, cfg.Architecture)
						}
						fs, err := imagefs.Files(img)
						if err != nil {
							return err
						}
						want, _ := os.ReadFile(filepath.Join(dir, "bin", arch, "main"))
						if got := fs["/usr/local/app/main"]; got.SHA256 != sha256Hex(want) {
							return fmt.Errorf("the %s image holds the wrong binary (%s)", arch, got.SHA256)
						}
					}
					run, err := kube.RunUntilLines(ctx, a.client, "default", a.env.NodeRegistry+"/"+repo[len(a.env.ClusterRegistry)+1:]+"@"+attrs["digest"],
						[]string{"Hello World", "Server started on port 8081"})
					if err != nil {
						return fmt.Errorf("running the index on the cluster's amd64 nodes: %w", err)
					}
					t.Logf("the index ran on %s and logged %q", run.Node, run.Lines)
					return nil
				},
			},
			{
				Config: config,
				Taint:  []string{"onesbuild_image.study"},
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest")),
				},
			},
		},
	})
}

// TestAccImageResource_kanikoTwoPlatforms: a Dockerfile without RUN
// builds both platforms with Kaniko on the cluster's amd64 nodes
// (--custom-platform), and the provider pushes the index; a RUN for a
// platform no node has is refused at plan, before any pod.
func TestAccImageResource_kanikoTwoPlatforms(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	dir := studyContextMulti(t, a.env.BaseImageMulti)
	repo := uniqueRepo(a, "kaniko-two-platforms")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "study" {
  repository  = %q
  context_dir = %q
  executor    = "kaniko"
  platforms   = ["linux/amd64", "linux/arm64"]
}
`, repo, dir),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("platform_digests"), knownvalue.MapSizeExact(2)),
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("executor_used"), knownvalue.StringExact("kaniko")),
				},
				Check: func(s *terraform.State) error {
					attrs := s.RootModule().Resources["onesbuild_image.study"].Primary.Attributes
					for _, arch := range []string{"amd64", "arm64"} {
						cref, _ := name.ParseReference(a.reg.Address(repo)+"@"+attrs["platform_digests.linux/"+arch], name.Insecure)
						img, err := remote.Image(cref)
						if err != nil {
							return fmt.Errorf("the %s image: %w", arch, err)
						}
						cfg, _ := img.ConfigFile()
						if cfg.Architecture != arch {
							return fmt.Errorf("the %s image's config says %s", arch, cfg.Architecture)
						}
					}
					if tags, err := a.reg.ListTags(ctx, repo); err != nil || len(tags) != 1 {
						return fmt.Errorf("tags %v (%v): the temporary platform tags must be gone", tags, err)
					}
					return a.noBuildPodsLeft(ctx)
				},
			},
			{
				Config: a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "runs" {
  repository        = %q
  context_files     = { "x" = "y" }
  dockerfile_inline = "FROM %s\nRUN echo built\n"
  platforms         = ["linux/amd64", "linux/arm64"]
}
`, uniqueRepo(a, "run-arm64"), a.env.BaseImageMulti),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Build Pod Unschedulable.*no\s+node\s+a\s+build\s+pod\s+could\s+be\s+scheduled\s+on\s+is\s+linux/arm64`),
			},
		},
	})
}

// TestAccImageResource_platformImageDeletedIsRebuilt: an image of an
// index deleted out of band is found by the refresh, and the next apply
// builds the index again.
func TestAccImageResource_platformImageDeletedIsRebuilt(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "platform-drift")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  executor          = "direct"
  context_files     = { "main" = "m" }
  dockerfile_inline = "FROM %s\nCOPY main /main\n"
  platforms         = ["linux/amd64", "linux/arm64"]
}
`, repo, a.env.BaseImageMulti)
	var arm64 string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: config, Check: func(s *terraform.State) error {
				arm64 = s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["platform_digests.linux/arm64"]
				return nil
			}},
			{
				PreConfig: func() {
					if err := a.reg.Delete(ctx, repo, arm64); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionCreate),
				}},
				Check: func(s *terraform.State) error {
					d := s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["platform_digests.linux/arm64"]
					if _, err := a.reg.Describe(ctx, repo, d); err != nil {
						return fmt.Errorf("the arm64 image is not back: %w", err)
					}
					return nil
				},
			},
		},
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestAccImageResource_studysArchitectureMismatch: the study's first
// problem, a binary compiled for arm64 copied onto the amd64 base, is an
// error at plan for both executors, naming the file and the fix, instead
// of "exec format error" when the pod starts.
func TestAccImageResource_studysArchitectureMismatch(t *testing.T) {
	a := newAccEnv(t)
	dir := t.TempDir()
	c := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "main"), "../../examples/quickstart/hello")
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if msg, err := c.CombinedOutput(); err != nil {
		t.Fatalf("building the hello server for arm64: %v\n%s", err, msg)
	}
	df, err := os.ReadFile("../../examples/quickstart/app/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, executor := range []string{"direct", "kaniko"} {
		t.Run(executor, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: a.factories(),
				Steps: []resource.TestStep{{
					Config: a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "study" {
  repository  = %q
  context_dir = %q
  executor    = %q
}
`, uniqueRepo(a, "arm64-on-amd64"), dir, executor),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)Executable Built For Another Platform.*copies\s+main,\s+which\s+is\s+built\s+for\s+linux/arm64.*not\s+linux/amd64.*GOOS=linux\s+GOARCH=amd64`),
				}},
			})
			if err := a.noBuildPodsLeft(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
}
