package provider

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/testcluster"
)

// firstBuildPod waits for a running build pod in the default namespace.
func (a *accEnv) firstBuildPod(ctx context.Context) (*corev1.Pod, error) {
	for {
		pods, err := a.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: kaniko.LabelManagedBy + "=" + kaniko.ManagedBy})
		if err != nil {
			return nil, err
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				return p, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitForPodEnd waits until the pod's executor has terminated or the pod
// is gone.
func (a *accEnv) waitForPodEnd(ctx context.Context, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p, err := a.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil || p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			return nil
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == kaniko.ContainerName && cs.State.Terminated != nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("pod %s still running after %s", name, timeout)
}

// waitForLogLine follows a pod's log until a line contains want.
func (a *accEnv) waitForLogLine(ctx context.Context, pod, want string) error {
	stream, err := a.client.CoreV1().Pods("default").GetLogs(pod, &corev1.PodLogOptions{Container: kaniko.ContainerName, Follow: true}).Stream(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	s := bufio.NewScanner(stream)
	for s.Scan() {
		if strings.Contains(s.Text(), want) {
			return nil
		}
	}
	return fmt.Errorf("log of %s ended without %q", pod, want)
}

// TestAccImageResource_podDeletedMidBuildIsRebuilt: a build pod deleted
// at once (grace period 0, as a node lost) is built again in a new pod.
func TestAccImageResource_podDeletedMidBuildIsRebuilt(t *testing.T) {
	deletePodMidBuild(t, newAccEnv(t), new(int64), "lost-pod")
}

// deletePodMidBuild deletes the build pod while Kaniko runs a RUN step,
// with the grace period given (nil: the pod's own), and requires the
// image built in a new pod and no pod left.
func deletePodMidBuild(t *testing.T, a *accEnv, grace *int64, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	deleted := make(chan string, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig: func() {
				go func() {
					pod, err := a.firstBuildPod(ctx)
					if err == nil {
						err = a.waitForLogLine(ctx, pod.Name, "RUN sleep")
					}
					if err != nil {
						deleted <- ""
						return
					}
					_ = a.client.CoreV1().Pods("default").Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: grace})
					deleted <- pod.Name
				}()
			},
			Config: a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "lost" {
  repository        = %q
  context_files     = { "x" = "y" }
  dockerfile_inline = "FROM %s\nRUN sleep 8\nCOPY x /x\n"
}
`, uniqueRepo(a, name), a.env.BaseImage),
			Check: func(s *terraform.State) error {
				var gone string
				select {
				case gone = <-deleted:
				case <-time.After(5 * time.Second):
				}
				if gone == "" {
					return fmt.Errorf("the test never saw a build pod to delete")
				}
				if pod := stateAttr(s, "onesbuild_image.lost", "build_pod"); pod == "default/"+gone || pod == "" {
					return fmt.Errorf("build_pod = %q, want a new pod after %s was deleted", pod, gone)
				}
				return a.noBuildPodsLeft(ctx)
			},
		}},
	})
}

func TestAccImageResource_registryDownDuringPushIsRetried(t *testing.T) {
	a := newAccEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h := testcluster.New(testcluster.OptionsFromEnv(io.Discard))
	outage := make(chan error, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig: func() {
				go func() {
					outage <- func() error {
						pod, err := a.firstBuildPod(ctx)
						if err != nil {
							return err
						}
						// The push starts right after this step's 4 seconds.
						if err := a.waitForLogLine(ctx, pod.Name, "RUN sleep 4"); err != nil {
							return err
						}
						if out, err := exec.CommandContext(ctx, "docker", "stop", "-t", "1", h.RegistryName).CombinedOutput(); err != nil {
							return fmt.Errorf("stopping the registry: %v: %s", err, out)
						}
						time.Sleep(6 * time.Second)
						if out, err := exec.CommandContext(ctx, "docker", "start", h.RegistryName).CombinedOutput(); err != nil {
							return fmt.Errorf("starting the registry: %v: %s", err, out)
						}
						return h.WireRegistry(ctx)
					}()
				}()
			},
			Config: a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "flaky" {
  repository        = %q
  context_files     = { "x" = "y" }
  dockerfile_inline = "FROM %s\nCOPY x /x\nRUN sleep 4\n"
}
`, uniqueRepo(a, "registry-outage"), a.env.BaseImage),
			Check: func(s *terraform.State) error {
				if err := <-outage; err != nil {
					return fmt.Errorf("the outage was not staged: %w", err)
				}
				d := stateAttr(s, "onesbuild_image.flaky", "digest")
				if _, err := a.reg.Describe(ctx, stateAttr(s, "onesbuild_image.flaky", "repository"), d); err != nil {
					return fmt.Errorf("pushed image not in the registry after the outage: %w", err)
				}
				return a.noBuildPodsLeft(ctx)
			},
		}},
	})
}

func TestAccImageResource_queueBeyondMaxConcurrentBuilds(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	config := strings.Replace(a.providerBlock(), "namespace ", "max_concurrent_builds = 1\n  namespace ", 1) + fmt.Sprintf(`
resource "onesbuild_image" "queued" {
  count             = 3
  repository        = "%s-${count.index}"
  context_files     = { "n" = "${count.index}" }
  dockerfile_inline = "FROM %s\nCOPY n /n\n"
}
`, uniqueRepo(a, "queued"), a.env.BaseImage)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				queued := 0
				for i := 0; i < 3; i++ {
					var v float64
					fmt.Sscan(stateAttr(s, fmt.Sprintf("onesbuild_image.queued.%d", i), "timings.queued"), &v)
					if v > 0.5 {
						queued++
					}
				}
				if queued < 2 {
					return fmt.Errorf("%d of 3 builds waited over 0.5s with max_concurrent_builds = 1, want 2", queued)
				}
				return a.noBuildPodsLeft(ctx)
			},
		}},
	})
}

func TestAccImageResource_historyRetentionAndDefaults(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	a.removeKeptBuildPods(t)
	repo := uniqueRepo(a, "history")
	config := func(version string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  context_files     = { "version" = %q }
  dockerfile_inline = "FROM %s\nCOPY version /version\n"
  keep_build_pod    = true
  retention {
    keep_last = 1
  }
}

data "onesbuild_image" "app" {
  repository = onesbuild_image.app.repository
  digest     = onesbuild_image.app.digest
}
`, repo, version, a.env.BaseImage)
	}
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config("1"),
				Check: func(s *terraform.State) error {
					first = stateAttr(s, "onesbuild_image.app", "digest")
					if got, want := stateAttr(s, "data.onesbuild_image.app", "context_sha256"), stateAttr(s, "onesbuild_image.app", "context_sha256"); got != want {
						return fmt.Errorf("image label context hash = %q, want %q", got, want)
					}
					if got := stateAttr(s, "data.onesbuild_image.app", "provider_version"); got != "acc" {
						return fmt.Errorf("provider_version label = %q", got)
					}
					if stateAttr(s, "data.onesbuild_image.app", "created") == "" {
						return fmt.Errorf("no creation time on the image")
					}
					pod, err := a.client.CoreV1().Pods("default").Get(ctx, strings.TrimPrefix(stateAttr(s, "onesbuild_image.app", "build_pod"), "default/"), metav1.GetOptions{})
					if err != nil {
						return fmt.Errorf("keep_build_pod did not keep the pod: %w", err)
					}
					res := pod.Spec.Containers[0].Resources
					if res.Requests.Cpu().String() != "500m" || res.Requests.Memory().String() != "512Mi" || res.Limits.Memory().String() != "2Gi" {
						return fmt.Errorf("build pod resources = %v, want the documented defaults", res)
					}
					return a.deleteBuildPods(ctx)
				},
			},
			{
				Config: config("2"),
				Check: func(s *terraform.State) error {
					if err := a.deleteBuildPods(ctx); err != nil {
						return err
					}
					if _, err := a.reg.Describe(ctx, repo, first); err == nil {
						return fmt.Errorf("keep_last = 1 kept the previous build %s", first)
					}
					if err := expectHistoryTags(ctx, a.reg, repo, 1); err != nil {
						return err
					}
					_, err := a.reg.Describe(ctx, repo, stateAttr(s, "onesbuild_image.app", "digest"))
					return err
				},
			},
		},
	})
}
