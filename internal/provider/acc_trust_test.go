package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/tfcli"
)

// cli runs the Terraform CLI the tests use on a working directory, with
// the provider built from this tree through dev_overrides: a tfcli.Dir
// that fails the test on a provider bug, and in must on any failure.
type cli struct {
	t   *testing.T
	dir *tfcli.Dir
}

// providerSource is the provider's address, as dev_overrides and
// required_providers name it.
const providerSource = "onesbuild/onesbuild"

func newCLI(t *testing.T) *cli {
	t.Helper()
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if bin == "" {
		t.Fatal("TF_ACC_TERRAFORM_PATH is not set (make testacc sets it)")
	}
	work := t.TempDir()
	plugins := filepath.Join(work, "plugins")
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "terraform-provider-onesbuild"), "../..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	rc := filepath.Join(work, "terraformrc")
	if err := tfcli.WriteDevOverrides(rc, providerSource, plugins); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(work, "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, dir: &tfcli.Dir{CLI: bin, Path: dir, ConfigFile: rc}}
}

func (c *cli) write(config string) {
	c.t.Helper()
	if err := c.dir.Write(tfcli.RequiredProvider("onesbuild", providerSource) + config); err != nil {
		c.t.Fatal(err)
	}
}

// run runs the CLI and returns its combined output and the CLI's own
// error (an *exec.ExitError when it exits non-zero), without the tail
// tfcli adds: the whole output is there. It fails the test when the
// provider reports a bug in itself.
func (c *cli) run(args ...string) (string, error) {
	c.t.Helper()
	out, err := c.dir.Run(context.Background(), args...)
	if bytes.Contains(out, []byte("inconsistent final plan")) || bytes.Contains(out, []byte("This is a bug in the provider")) {
		c.t.Fatalf("%s %s reported a provider bug:\n%s", filepath.Base(c.dir.CLI), strings.Join(args, " "), out)
	}
	var failed *tfcli.Error
	if errors.As(err, &failed) {
		err = failed.Err
	}
	return string(out), err
}

func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", filepath.Base(c.dir.CLI), strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cli) stateAttr(resource, attr string) string {
	c.t.Helper()
	state, err := tfcli.ParseState([]byte(c.must("show", "-json")))
	if err != nil {
		c.t.Fatal(err)
	}
	r, ok := state.Resource(resource)
	if !ok {
		c.t.Fatalf("%s not in state", resource)
	}
	return fmt.Sprint(r.Values[attr])
}

// TestAccImageResource_contextChangesBetweenPlanAndApply saves plans,
// changes the context behind them, and applies them: the apply builds
// what is there and records its hash, or builds nothing, and never ends
// in "Provider produced inconsistent final plan".
func TestAccImageResource_contextChangesBetweenPlanAndApply(t *testing.T) {
	a := newAccEnv(t)
	c := newCLI(t)
	dir := studyContext(t)
	c.write(a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = %q
  context_dir = %q
}
`, uniqueRepo(a, "plan-apply"), dir))
	hash := func() string {
		sum, err := buildcontext.Source{Dir: dir}.Hash(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return sum.SHA256
	}
	edit := func(content string) {
		if err := os.WriteFile(filepath.Join(dir, "NOTICE"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.must("apply", "-auto-approve", "-input=false")
	if got := c.stateAttr("onesbuild_image.app", "context_sha256"); got != hash() {
		t.Fatalf("context_sha256 = %s, want %s", got, hash())
	}
	first := c.stateAttr("onesbuild_image.app", "digest")

	// A change planned, then another change before the apply: the apply
	// builds what is there at apply time.
	edit("v2")
	c.must("plan", "-input=false", "-out=replace.tfplan")
	edit("v3")
	c.must("apply", "-input=false", "replace.tfplan")
	if got := c.stateAttr("onesbuild_image.app", "context_sha256"); got != hash() {
		t.Fatalf("after the saved plan: context_sha256 = %s, want the hash of what was built, %s", got, hash())
	}
	second := c.stateAttr("onesbuild_image.app", "digest")
	if second == first {
		t.Fatal("the saved plan's replacement built nothing new")
	}

	// Nothing planned, then a change before the apply: the apply does
	// what was planned (nothing), and the next plan shows the change.
	c.must("plan", "-input=false", "-out=noop.tfplan")
	edit("v4")
	c.must("apply", "-input=false", "noop.tfplan")
	if got := c.stateAttr("onesbuild_image.app", "digest"); got != second {
		t.Fatalf("an empty saved plan rebuilt the image: %s", got)
	}
	out, err := c.run("plan", "-input=false", "-detailed-exitcode")
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 || !strings.Contains(out, "replace") {
		t.Fatalf("the next plan does not replace the changed context (%v):\n%s", err, out)
	}
	c.must("destroy", "-auto-approve", "-input=false")
}

// TestAccImageResource_buildSecretStaysSecret gives a RUN step a secret
// from a Kubernetes Secret and looks for its value everywhere it must
// not be: the image, the build pod's spec, Terraform state.
func TestAccImageResource_buildSecretStaysSecret(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	const value = "s3cr3t-onesbuild-value"
	secretName := fmt.Sprintf("build-token-%d", time.Now().UnixNano()%1_000_000)
	if _, err := a.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName}, Data: map[string][]byte{"token": []byte(value)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.client.CoreV1().Secrets("default").Delete(context.Background(), secretName, metav1.DeleteOptions{})
	})
	a.removeKeptBuildPods(t)
	repo := uniqueRepo(a, "build-secret")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "secret" {
  repository        = %[1]q
  context_files     = { "a" = "b" }
  keep_build_pod    = true
  dockerfile_inline = <<-EOT
    FROM %[2]s
    RUN --mount=type=secret,id=token test "$(sha256sum < /run/secrets/token | cut -d' ' -f1)" = "%[3]x" && echo verified > /verified
  EOT
  build_secret {
    id          = "token"
    secret_name = %[4]q
    key         = "token"
  }
}
`, repo, a.env.BaseImage, sha256.Sum256([]byte(value)), secretName)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources["onesbuild_image.secret"].Primary.Attributes
				for k, v := range attrs {
					if strings.Contains(v, value) {
						return fmt.Errorf("state attribute %s holds the secret", k)
					}
				}
				digest := attrs["digest"]
				if got, err := fileInImage(ctx, a, repo, digest, "/verified"); err != nil || got != "verified\n" {
					return fmt.Errorf("the RUN step did not see the secret: /verified = %q, %v", got, err)
				}
				if err := imageDoesNotContain(ctx, a, repo+"@"+digest, value); err != nil {
					return err
				}
				pod := strings.TrimPrefix(attrs["build_pod"], "default/")
				defer func() { _ = a.client.CoreV1().Pods("default").Delete(ctx, pod, metav1.DeleteOptions{}) }()
				p, err := a.client.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{})
				if err != nil {
					return err
				}
				spec, _ := json.Marshal(p)
				if bytes.Contains(spec, []byte(value)) {
					return fmt.Errorf("the build pod's spec holds the secret")
				}
				return nil
			},
		}},
	})
}

// imageDoesNotContain reads every layer and the config of an image and
// fails if value appears anywhere.
func imageDoesNotContain(ctx context.Context, a *accEnv, ref, value string) error {
	r, err := a.reg.Reference(ctx, ref)
	if err != nil {
		return err
	}
	img, err := remote.Image(r)
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if bytes.Contains(cfg, []byte(value)) {
		return fmt.Errorf("the image config holds the secret")
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(value)) {
			return fmt.Errorf("layer %d of the image holds the secret", i+1)
		}
	}
	return nil
}

// TestAccImageResource_exampleRoleIsEnough builds with a token bound to
// examples/rbac/role.yaml and nothing else.
func TestAccImageResource_exampleRoleIsEnough(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	ns := fmt.Sprintf("rbac-%d", time.Now().UnixNano()%1_000_000)
	if _, err := a.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	raw, err := os.ReadFile("../../examples/rbac/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.Role
	if err := yaml.Unmarshal(bytes.Split(raw, []byte("\n---\n"))[0], &role); err != nil {
		t.Fatal(err)
	}
	role.Namespace = ns
	if _, err := a.client.RbacV1().Roles(ns).Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "terraform"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "terraform"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "terraform", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expiry := int64(3600)
	tok, err := a.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "terraform", &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A registry secret exercises the rule on secrets too.
	dockerConfig := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, a.env.ClusterRegistry, base64.StdEncoding.EncodeToString([]byte("builder:unused")))
	if _, err := a.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(dockerConfig)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.LoadFromFile(a.env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster]
	config := fmt.Sprintf(`
provider "onesbuild" {
  host                   = %[1]q
  token                  = %[2]q
  cluster_ca_certificate = %[3]q
  namespace              = %[4]q
  kaniko_image           = %[5]q
  insecure_registries    = [%[6]q]
  registry_hosts         = { %[6]q = %[7]q }
}

resource "onesbuild_image" "rbac" {
  repository           = %[8]q
  context_files        = { "a" = "b" }
  dockerfile_inline    = "FROM %[9]s\nCOPY a /a\nRUN test -s /a\n"
  registry_auth_secret = "regcred"
}
`, cluster.Server, tok.Status.Token, string(cluster.CertificateAuthorityData), ns, a.env.KanikoImage,
		a.env.ClusterRegistry, a.env.HostRegistry, uniqueRepo(a, "rbac"), a.env.BaseImage)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				if d := stateAttr(s, "onesbuild_image.rbac", "digest"); !digestPattern.MatchString(d) {
					return fmt.Errorf("digest = %q", d)
				}
				pods, err := a.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kaniko.LabelManagedBy + "=" + kaniko.ManagedBy})
				if err != nil || len(pods.Items) != 0 {
					return fmt.Errorf("build pods left in %s: %v", ns, err)
				}
				return nil
			},
		}},
	})
}

// TestAccImageResource_legacyKanikoImage builds with the archived
// upstream's v1.24.0 executor through kaniko_image.
func TestAccImageResource_legacyKanikoImage(t *testing.T) {
	a := newAccEnv(t)
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "legacy" {
  repository        = %q
  kaniko_image      = %q
  context_files     = { "a" = "b" }
  dockerfile_inline = "FROM %s\nCOPY a /a\nRUN test -s /a\n"
}
`, uniqueRepo(a, "legacy"), a.env.LegacyKanikoImage, a.env.BaseImage)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				if d := stateAttr(s, "onesbuild_image.legacy", "digest"); !digestPattern.MatchString(d) {
					return fmt.Errorf("digest = %q", d)
				}
				return nil
			},
		}},
	})
}

// TestAccImageResource_retentionKeepsWhatOthersTagged tags an old build
// "stable" and shows retention keeping it.
func TestAccImageResource_retentionKeepsWhatOthersTagged(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "retention-stable")
	config := func(content string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "kept" {
  repository        = %q
  executor          = "direct"
  context_files     = { "a" = %q }
  dockerfile_inline = "FROM %s\nCOPY a /a\n"
  retention {
    keep_last = 1
  }
}
`, repo, content, a.env.BaseImage)
	}
	var stable, unreferenced string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config("v1"),
				Check: func(s *terraform.State) error {
					stable = stateAttr(s, "onesbuild_image.kept", "digest")
					// Someone tags this build by hand.
					return a.reg.Tag(ctx, repo, stable, "stable")
				},
			},
			{Config: config("v2"), Check: func(s *terraform.State) error {
				unreferenced = stateAttr(s, "onesbuild_image.kept", "digest")
				return nil
			}},
			{
				Config: config("v3"),
				Check: func(s *terraform.State) error {
					got, err := a.reg.ResolveTag(ctx, repo, "stable")
					if err != nil || got != stable {
						return fmt.Errorf("stable = %s (%v), want it kept on %s", got, err, stable)
					}
					if _, err := a.reg.Describe(ctx, repo, unreferenced); err == nil {
						return fmt.Errorf("the untagged old build %s was not pruned", unreferenced)
					}
					return nil
				},
			},
		},
	})
}
