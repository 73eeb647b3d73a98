package provider

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/testcluster"
)

// TestAccImageResource_createBeforeDestroyKeepsTheSameDigest: a direct
// build is reproducible, so a replacement (a taint) pushes the digest the
// old instance has; with create_before_destroy, deleting the old instance
// must not delete the image the new one points at.
func TestAccImageResource_createBeforeDestroyKeepsTheSameDigest(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "cbd")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  executor          = "direct"
  delete_on_destroy = true
  context_files     = { "main" = "v1" }
  dockerfile_inline = "FROM %s\nCOPY main /app/main\n"
  lifecycle {
    create_before_destroy = true
  }
}
`, repo, a.env.BaseImage)
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: config, Check: func(s *terraform.State) error {
				first = stateAttr(s, "onesbuild_image.app", "digest")
				return nil
			}},
			{
				Config: config,
				Taint:  []string{"onesbuild_image.app"},
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionCreateBeforeDestroy),
				}},
				Check: func(s *terraform.State) error {
					d := stateAttr(s, "onesbuild_image.app", "digest")
					if d != first {
						return fmt.Errorf("the rebuild gave %s, the first build %s: not reproducible", d, first)
					}
					if _, err := a.reg.Describe(ctx, repo, d); err != nil {
						return fmt.Errorf("the image the new instance points at was deleted with the old one: %w", err)
					}
					if got, err := a.reg.ResolveTag(ctx, repo, "latest"); err != nil || got != d {
						return fmt.Errorf("latest = %s (%v), want %s", got, err, d)
					}
					return nil
				},
			},
		},
	})
}

// TestAccImageResource_deleteKeepsAnotherResourcesImage: two resources
// whose builds give one digest (the same context, other tags); destroying
// one removes its tag and keeps the image the other uses.
func TestAccImageResource_deleteKeepsAnotherResourcesImage(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "shared-digest")
	resourceBlock := func(name, tag string) string {
		return fmt.Sprintf(`
resource "onesbuild_image" %[1]q {
  repository        = %[2]q
  tags              = [%[3]q]
  executor          = "direct"
  delete_on_destroy = true
  context_files     = { "main" = "same" }
  dockerfile_inline = "FROM %[4]s\nCOPY main /app/main\n"
}
`, name, repo, tag, a.env.BaseImage)
	}
	var shared string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: a.providerBlock() + resourceBlock("a", "a") + resourceBlock("b", "b"),
				Check: func(s *terraform.State) error {
					shared = stateAttr(s, "onesbuild_image.a", "digest")
					if b := stateAttr(s, "onesbuild_image.b", "digest"); b != shared {
						return fmt.Errorf("the two builds differ (%s, %s): the test needs one digest", shared, b)
					}
					return nil
				},
			},
			{
				Config: a.providerBlock() + resourceBlock("b", "b"),
				Check: func(s *terraform.State) error {
					if _, err := a.reg.Describe(ctx, repo, shared); err != nil {
						return fmt.Errorf("destroying a deleted the image b uses: %w", err)
					}
					if got, err := a.reg.ResolveTag(ctx, repo, "b"); err != nil || got != shared {
						return fmt.Errorf("b = %s (%v)", got, err)
					}
					if _, err := a.reg.ResolveTag(ctx, repo, "a"); err == nil {
						return fmt.Errorf("the destroyed resource's tag a is still there")
					}
					return nil
				},
			},
		},
	})
	// The last resource using it deletes it.
	if _, err := a.reg.Describe(ctx, repo, shared); err == nil {
		t.Errorf("the image outlived the last resource with delete_on_destroy")
	}
}

// TestAccImageResource_unknownValuesPlan: build arguments and context
// files that come from a resource not applied yet are unknown at plan
// time; the plan leaves what depends on them unknown instead of failing,
// and the apply builds with the values.
func TestAccImageResource_unknownValuesPlan(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "unknown-values")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: a.providerBlock() + fmt.Sprintf(`
resource "terraform_data" "endpoint" {
  input = "db.internal:5432"
}

resource "onesbuild_image" "app" {
  repository        = %q
  executor          = "direct"
  build_args        = { ENDPOINT = terraform_data.endpoint.output }
  context_files     = { "config.json" = jsonencode({ endpoint = terraform_data.endpoint.output }) }
  dockerfile_inline = "FROM %s\nARG ENDPOINT\nENV ENDPOINT=$ENDPOINT\nCOPY config.json /etc/app/config.json\n"
}
`, repo, a.env.BaseImage),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("executor_used")),
				plancheck.ExpectUnknownValue("onesbuild_image.app", tfjsonpath.New("digest")),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("executor_used"), knownvalue.StringExact("direct")),
			},
			Check: func(s *terraform.State) error {
				content, err := fileInImage(ctx, a, repo, stateAttr(s, "onesbuild_image.app", "digest"), "/etc/app/config.json")
				if err != nil {
					return err
				}
				if !strings.Contains(content, "db.internal:5432") {
					return fmt.Errorf("config.json = %q, want the endpoint", content)
				}
				return nil
			},
		}},
	})
}

// TestAccImageResource_podDeletedGracefullyIsRebuilt: kubectl delete and
// a drain give the pod a grace period; Kaniko is stopped with SIGTERM and
// exits non-zero, which is the deletion's doing, not the build's.
func TestAccImageResource_podDeletedGracefullyIsRebuilt(t *testing.T) {
	deletePodMidBuild(t, newAccEnv(t), nil, "drained")
}

// TestAccImageResource_registryDownDuringBaseDownloadIsRebuilt: the
// registry stops as Kaniko starts (its push check and the base download;
// its own download retries off) and stays down until that pod has given
// up; the build runs again in a new pod, after the provider's pause,
// once the registry answers.
func TestAccImageResource_registryDownDuringBaseDownloadIsRebuilt(t *testing.T) {
	a := newAccEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h := testcluster.New(testcluster.OptionsFromEnv(io.Discard))
	type outage struct {
		pod string
		err error
	}
	staged := make(chan outage, 1)
	outageOver := make(chan struct{})
	t.Cleanup(func() {
		// A failed apply ends the test while the outage may still be
		// staged: the next test must find the registry up and wired.
		select {
		case <-outageOver:
		case <-time.After(6 * time.Minute):
		}
		cleanupCtx, stop := context.WithTimeout(context.Background(), time.Minute)
		defer stop()
		if out, err := exec.CommandContext(cleanupCtx, "docker", "start", h.RegistryName).CombinedOutput(); err != nil {
			t.Errorf("starting the registry after the test: %v: %s", err, out)
		} else if err := h.WireRegistry(cleanupCtx); err != nil {
			t.Errorf("wiring the registry after the test: %v", err)
		}
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig: func() {
				go func() {
					defer close(outageOver)
					pod, err := a.firstBuildPod(ctx)
					if err != nil {
						staged <- outage{err: err}
						return
					}
					if out, err := exec.CommandContext(ctx, "docker", "stop", "-t", "0", h.RegistryName).CombinedOutput(); err != nil {
						staged <- outage{err: fmt.Errorf("stopping the registry: %v: %s", err, out)}
						return
					}
					// Down until the first pod gave up (Kaniko's own retries of
					// a refused connection can outlast a fixed outage on a busy
					// machine, and took over two minutes once under the whole
					// suite's load), so that only the provider's retry can
					// succeed.
					if err := a.waitForPodEnd(ctx, pod.Name, 5*time.Minute); err != nil {
						staged <- outage{err: err}
						return
					}
					if out, err := exec.CommandContext(ctx, "docker", "start", h.RegistryName).CombinedOutput(); err != nil {
						staged <- outage{err: fmt.Errorf("starting the registry: %v: %s", err, out)}
						return
					}
					staged <- outage{pod: pod.Name, err: h.WireRegistry(ctx)}
				}()
			},
			Config: strings.Replace(a.providerBlock(), "namespace ", "image_download_retry = 0\n  namespace ", 1) + fmt.Sprintf(`
resource "onesbuild_image" "flaky_base" {
  repository        = %q
  context_files     = { "x" = "y" }
  dockerfile_inline = "FROM %s\nCOPY x /x\n"
}
`, uniqueRepo(a, "base-outage"), a.env.BaseImage),
			Check: func(s *terraform.State) error {
				o := <-staged
				if o.err != nil {
					return fmt.Errorf("the outage was not staged: %w", o.err)
				}
				if pod := stateAttr(s, "onesbuild_image.flaky_base", "build_pod"); pod == "default/"+o.pod {
					return fmt.Errorf("build_pod = %q: the first pod survived the outage, so nothing proved the rebuild", pod)
				}
				d := stateAttr(s, "onesbuild_image.flaky_base", "digest")
				if _, err := a.reg.Describe(ctx, stateAttr(s, "onesbuild_image.flaky_base", "repository"), d); err != nil {
					return fmt.Errorf("pushed image not in the registry: %w", err)
				}
				return a.noBuildPodsLeft(ctx)
			},
		}},
	})
}

// TestAccImageResource_quotaIsTheQueue: a namespace whose ResourceQuota
// allows one pod is the queue of every run that builds there: three
// builds in one apply and a second apply at the same time all succeed,
// one pod at a time.
func TestAccImageResource_quotaIsTheQueue(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	ns := fmt.Sprintf("quota-%d", time.Now().UnixNano()%1_000_000)
	if _, err := a.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "build-pods"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: k8sresource.MustParse("1")}},
	}
	if _, err := a.client.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	provider := strings.Replace(a.providerBlock(), `namespace           = "default"`, fmt.Sprintf("namespace           = %q", ns), 1)
	config := func(name string, n int) string {
		return provider + fmt.Sprintf(`
resource "onesbuild_image" %[1]q {
  count             = %[2]d
  repository        = "%[3]s-${count.index}"
  context_files     = { "n" = "${count.index}" }
  dockerfile_inline = "FROM %[4]s\nCOPY n /n\nRUN sleep 2\n"
  timeouts {
    create = "8m"
  }
}
`, name, n, uniqueRepo(a, "quota-"+name), a.env.BaseImage)
	}
	first, second := newCLI(t), newCLI(t)
	first.write(config("first", 3))
	second.write(config("second", 2))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	outs := make([]string, 2)
	for i, c := range []*cli{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = c.run("apply", "-auto-approve", "-input=false", "-no-color")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("apply %d failed: %v\n%s", i+1, err, outs[i])
		}
	}
	queued := 0.0
	for _, c := range []struct {
		cli  *cli
		name string
		n    int
	}{{first, "first", 3}, {second, "second", 2}} {
		for i := 0; i < c.n; i++ {
			address := fmt.Sprintf("onesbuild_image.%s[%d]", c.name, i)
			if d := c.cli.stateAttr(address, "digest"); !strings.HasPrefix(d, "sha256:") {
				t.Errorf("%s digest = %q", address, d)
			}
			timings := c.cli.stateAttr(address, "timings")
			if v, ok := mapNumber(timings, "queued"); ok {
				queued += v
			}
		}
	}
	if queued < 1 {
		t.Errorf("five builds through a quota of one pod waited %.1fs in all; want the quota to have queued them", queued)
	}
	for _, c := range []*cli{first, second} {
		c.must("destroy", "-auto-approve", "-input=false", "-no-color")
	}
}

// mapNumber reads key from a map printed by fmt (map[queued:1.5 ...]).
func mapNumber(printed, key string) (float64, bool) {
	printed = strings.TrimSuffix(strings.TrimPrefix(printed, "map["), "]")
	for _, kv := range strings.Fields(printed) {
		if k, v, ok := strings.Cut(kv, ":"); ok && k == key {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
