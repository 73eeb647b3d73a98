package provider

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/testcluster"
)

// accEnv is the harness cluster the acceptance tests run against; make
// testacc brings it up first.
type accEnv struct {
	env    *testcluster.Env
	client kubernetes.Interface
	reg    *registry.Client
}

func newAccEnv(t *testing.T) *accEnv {
	t.Helper()
	a := testcluster.RequireAcceptance(t)
	return &accEnv{env: a.Env, client: a.Client, reg: a.Registry}
}

// removeKeptBuildPods deletes, when the test ends whatever its outcome,
// the build pods that keep_build_pod leaves for inspection: a failing
// step never reaches the check that would otherwise delete them. The
// acceptance tests run one at a time, so no other test's build is hit.
func (a *accEnv) removeKeptBuildPods(t *testing.T) {
	t.Cleanup(func() {
		if err := a.deleteBuildPods(context.Background()); err != nil {
			t.Errorf("deleting the build pods kept by keep_build_pod: %v", err)
		}
	})
}

// deleteBuildPods deletes every build pod in the test namespace at once.
func (a *accEnv) deleteBuildPods(ctx context.Context) error {
	return a.client.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)},
		metav1.ListOptions{LabelSelector: kaniko.LabelManagedBy + "=" + kaniko.ManagedBy})
}

func (a *accEnv) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"onesbuild": providerserver.NewProtocol6WithError(New("acc")()),
	}
}

func (a *accEnv) providerBlock() string {
	return fmt.Sprintf(`
provider "onesbuild" {
  config_path         = %[1]q
  namespace           = "default"
  kaniko_image        = %[2]q
  insecure_registries = [%[3]q]
  registry_hosts      = { %[3]q = %[4]q }
}
`, a.env.Kubeconfig, a.env.KanikoImage, a.env.ClusterRegistry, a.env.HostRegistry)
}

// noBuildPodsLeft checks that every build pod is gone.
func (a *accEnv) noBuildPodsLeft(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		pods, err := a.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: kaniko.LabelManagedBy + "=" + kaniko.ManagedBy})
		if err != nil {
			return err
		}
		if len(pods.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("build pod %s left behind", pods.Items[0].Name)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// studyContext writes the study's context: its Dockerfile and the hello
// server compiled statically for the cluster's architecture.
func studyContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "main")
	c := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "../../examples/quickstart/hello")
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := c.CombinedOutput(); err != nil {
		t.Fatalf("building the hello server: %v\n%s", err, msg)
	}
	df, err := os.ReadFile("../../examples/quickstart/app/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func uniqueRepo(a *accEnv, base string) string {
	return fmt.Sprintf("%s/%s-%d", a.env.ClusterRegistry, base, time.Now().UnixNano()%1_000_000)
}

func stateAttr(s *terraform.State, res, attr string) string {
	return s.RootModule().Resources[res].Primary.Attributes[attr]
}

func TestAccImageResource_basic(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	dir := studyContext(t)
	repo := a.env.ClusterRegistry + "/new-image"
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "study" {
  repository  = %q
  tags        = ["latest"]
  context_dir = %q
}
`, repo, dir)
	sameDigest := statecheck.CompareValue(compare.ValuesSame())
	newDigest := statecheck.CompareValue(compare.ValuesDiffer())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("tagged_refs"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(repo + ":latest")})),
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("image_size_bytes"), knownvalue.Int64Func(func(v int64) error {
						if v < 1_000_000 {
							return fmt.Errorf("image of %d bytes is smaller than its base", v)
						}
						return nil
					})),
					sameDigest.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest")),
					newDigest.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest")),
				},
				Check: func(s *terraform.State) error {
					digest := stateAttr(s, "onesbuild_image.study", "digest")
					if got := stateAttr(s, "onesbuild_image.study", "image_ref"); got != repo+"@"+digest {
						return fmt.Errorf("image_ref = %s", got)
					}
					tagged, err := a.reg.ResolveTag(ctx, repo, "latest")
					if err != nil || tagged != digest {
						return fmt.Errorf("registry has latest = %s (%v), state digest %s", tagged, err, digest)
					}
					if err := checkTimings(s.RootModule().Resources["onesbuild_image.study"].Primary.Attributes); err != nil {
						return err
					}
					run, err := kube.RunUntilLines(ctx, a.client, "default", a.env.NodeRegistry+"/new-image@"+digest, []string{"Hello World", "Server started on port 8081"})
					if err != nil {
						return err
					}
					t.Logf("pod from the built image logged %q, first line after %s", run.Lines, run.FirstLine)
					return a.noBuildPodsLeft(ctx)
				},
			},
			{
				// Nothing changed, then only an mtime: empty plans, no build.
				PreConfig: func() {
					later := time.Now().Add(2 * time.Hour)
					if err := os.Chtimes(filepath.Join(dir, "main"), later, later); err != nil {
						t.Fatal(err)
					}
				},
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{sameDigest.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest"))},
			},
			{
				// A changed file: replace and a new digest.
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(dir, "NOTICE"), []byte("changed\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.study", plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{newDigest.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest"))},
			},
			{
				ResourceName:            "onesbuild_image.study",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: adoptedOnImport,
			},
		},
	})
}

// checkTimings checks that every phase is present and the phases fit in
// the total.
func checkTimings(attrs map[string]string) error {
	var sum, total float64
	for _, p := range build.AllPhases {
		v, ok := attrs["timings."+string(p)]
		if !ok {
			return fmt.Errorf("timings.%s missing from %v", p, attrs)
		}
		var f float64
		if _, err := fmt.Sscan(v, &f); err != nil || f < 0 || f > 600 {
			return fmt.Errorf("timings.%s = %q is not plausible", p, v)
		}
		if p == build.PhaseTotal {
			total = f
		} else if p != build.PhaseContextUpload {
			sum += f
		}
	}
	if total <= 0 || sum > total*1.05+0.5 {
		return fmt.Errorf("phases add up to %.2fs, more than the total %.2fs", sum, total)
	}
	return nil
}

// fileInImage returns the content of a file in the image's file system.
func fileInImage(ctx context.Context, a *accEnv, repo, digest, path string) (string, error) {
	ref, err := name.ParseReference(a.reg.Address(repo)+"@"+digest, name.Insecure)
	if err != nil {
		return "", err
	}
	img, err := remote.Image(ref, remote.WithContext(ctx))
	if err != nil {
		return "", err
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s not in the image", path)
		}
		if err != nil {
			return "", err
		}
		if "/"+strings.TrimPrefix(hdr.Name, "./") == path || hdr.Name == strings.TrimPrefix(path, "/") {
			b, err := io.ReadAll(tr)
			return string(b), err
		}
	}
}

func TestAccImageResource_inlineBuildArgsTarget(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "inline")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "inline" {
  repository        = %q
  context_files     = { "greeting.txt" = "from context_files" }
  dockerfile_inline = <<-EOT
    FROM %s AS first
    ARG GREETING=unset
    COPY greeting.txt /greeting.txt
    RUN echo "$GREETING" > /build-arg.txt && echo first > /stage.txt
    FROM first AS second
    RUN echo second > /stage.txt
  EOT
  build_args        = { GREETING = "hello from build_args" }
  target            = "first"
  labels            = { "org.opencontainers.image.title" = "inline" }
  delete_on_destroy = true
}
`, repo, a.env.BaseImage)
	var digest string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy: func(*terraform.State) error {
			if _, err := a.reg.Describe(ctx, repo, digest); err == nil {
				return fmt.Errorf("delete_on_destroy left %s@%s in the registry", repo, digest)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				digest = stateAttr(s, "onesbuild_image.inline", "digest")
				for path, want := range map[string]string{
					"/build-arg.txt": "hello from build_args\n",
					"/stage.txt":     "first\n",
					"/greeting.txt":  "from context_files",
				} {
					got, err := fileInImage(ctx, a, repo, digest, path)
					if err != nil {
						return err
					}
					if got != want {
						return fmt.Errorf("%s in the image = %q, want %q", path, got, want)
					}
				}
				img, err := a.reg.Describe(ctx, repo, digest)
				if err != nil {
					return err
				}
				if img.Labels["org.opencontainers.image.title"] != "inline" {
					return fmt.Errorf("labels = %v", img.Labels)
				}
				return a.noBuildPodsLeft(ctx)
			},
		}},
	})
}

func TestAccImageResource_driftRecreates(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "drift")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "drift" {
  repository        = %q
  context_files     = { "a" = "b" }
  dockerfile_inline = "FROM %s\nCOPY a /a\n"
}
`, repo, a.env.BaseImage)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					d, err := a.reg.ResolveTag(ctx, repo, "latest")
					if err != nil {
						t.Fatal(err)
					}
					if err := a.reg.Delete(ctx, repo, d); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.drift", plancheck.ResourceActionCreate),
				}},
				Check: func(s *terraform.State) error {
					_, err := a.reg.Describe(ctx, repo, stateAttr(s, "onesbuild_image.drift", "digest"))
					return err
				},
			},
		},
	})
}

func TestAccImageResource_failures(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	tests := []struct {
		name, body, want string
	}{
		{
			name: "failing RUN step",
			body: fmt.Sprintf(`dockerfile_inline = "FROM %s\nRUN echo about to fail && exit 3\n"`, a.env.BaseImage),
			want: `(?s)Image Build Failed.*Kaniko exited with code 3.*about to fail.*Original error`,
		},
		{
			name: "missing base image",
			body: fmt.Sprintf(`dockerfile_inline = "FROM %s/does-not-exist:1\n"`, a.env.ClusterRegistry),
			want: `(?s)Image Build Failed.*does-not-exist.*Original error`,
		},
		{
			name: "executor image cannot be pulled",
			body: fmt.Sprintf(`dockerfile_inline = "FROM %s\n"
  kaniko_image = "%s/no-such-executor:v0"`, a.env.BaseImage, a.env.NodeRegistry),
			want: `(?s)Executor Image Not Pullable.*no-such-executor.*kaniko_image.*Original error`,
		},
		{
			name: "timeout shorter than the build",
			body: fmt.Sprintf(`dockerfile_inline = "FROM %s\nRUN sleep 60\n"
  timeouts {
    create = "15s"
  }`, a.env.BaseImage),
			want: `(?s)Image Build Timed Out.*15s.*Original error`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: a.factories(),
				Steps: []resource.TestStep{{
					Config: a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "broken" {
  repository    = %q
  context_files = { "x" = "y" }
  %s
}
`, uniqueRepo(a, "broken"), tt.body),
					ExpectError: regexp.MustCompile(tt.want),
				}},
			})
			if err := a.noBuildPodsLeft(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAccImageResource_parallel(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "parallel")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "many" {
  count             = 4
  repository        = "%s-${count.index}"
  context_files     = { "n" = "${count.index}" }
  dockerfile_inline = "FROM %s\nCOPY n /n\n"
}
`, repo, a.env.BaseImage)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				seen := map[string]bool{}
				for i := 0; i < 4; i++ {
					res := fmt.Sprintf("onesbuild_image.many.%d", i)
					d := stateAttr(s, res, "digest")
					if !digestPattern.MatchString(d) {
						return fmt.Errorf("%s digest = %q", res, d)
					}
					got, err := fileInImage(ctx, a, fmt.Sprintf("%s-%d", repo, i), d, "/n")
					if err != nil || got != fmt.Sprint(i) {
						return fmt.Errorf("%s holds /n = %q (%v), want %d", res, got, err, i)
					}
					seen[d] = true
				}
				if len(seen) != 4 {
					return fmt.Errorf("4 builds gave %d distinct digests", len(seen))
				}
				return a.noBuildPodsLeft(ctx)
			},
		}},
	})
}

func TestAccImageResource_registryAuthSecret(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	secrets := a.client.CoreV1().Secrets("default")
	name := fmt.Sprintf("onesbuild-acc-regcred-%d", time.Now().UnixNano()%1_000_000)
	// The local registry needs no credentials; a valid Docker config for
	// it proves the secret is mounted where Kaniko reads it without
	// breaking the push.
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(fmt.Sprintf(
			`{"auths":{%q:{"auth":"dXNlcjpwYXNz"}}}`, a.env.ClusterRegistry))},
	}
	if _, err := secrets.Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = secrets.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	config := func(secretName string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "auth" {
  repository           = %q
  context_files        = { "x" = "y" }
  dockerfile_inline    = "FROM %s\nCOPY x /x\n"
  registry_auth_secret = %q
}
`, uniqueRepo(a, "auth"), a.env.BaseImage, secretName)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config:      config("no-such-secret"),
				ExpectError: regexp.MustCompile(`(?s)Registry Auth Secret Not Usable.*"no-such-secret" does not exist.*kubectl create secret\s+docker-registry`),
			},
			{
				Config: config(name),
				Check: func(s *terraform.State) error {
					if !digestPattern.MatchString(stateAttr(s, "onesbuild_image.auth", "digest")) {
						return fmt.Errorf("no digest")
					}
					return a.noBuildPodsLeft(ctx)
				},
			},
		},
	})
}
