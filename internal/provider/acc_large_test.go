package provider

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// largeContextBytes is the size of the incompressible context of
// TestAccImageResource_largeContext, and largeContextMemoryLimit the
// executor's memory limit there: the context is twice the limit, as a
// 3 GiB context was about 1.5 times the default 2Gi limit when it was
// OOMKilled. The pair is scaled down so that the build writes about
// 4 GiB to disk (the context on the host and in the pod, the copied
// file, the new layer, the registry's copy), not 15 GiB, which filled a
// CI machine's disk.
const (
	largeContextBytes       = 1 << 30
	largeContextMemoryLimit = "512Mi"
)

// writeIncompressible writes n pseudo-random bytes, which no compressor
// shrinks, generated at test time.
func writeIncompressible(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	if _, err := io.CopyN(f, rng, n); err != nil {
		t.Fatal(err)
	}
}

// sampleBuildPod waits for the build pod to run and samples its
// executor's memory through the kubelet's summary API until stop.
func sampleBuildPod(ctx context.Context, a *accEnv, repo string, stop <-chan struct{}) <-chan string {
	out := make(chan string, 1)
	go func() {
		for {
			pods, err := a.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: kaniko.LabelManagedBy + "=" + kaniko.ManagedBy})
			var found *corev1.Pod
			for i, p := range pods.Items {
				if err == nil && p.Annotations[kaniko.AnnotationRepository] == repo && p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
					found = &pods.Items[i]
				}
			}
			if found != nil {
				p := *found
				s := &kube.StatsSampler{Client: a.client, Node: p.Spec.NodeName, Namespace: p.Namespace, Pod: p.Name, Container: kaniko.ContainerName}
				s.Start(ctx)
				<-stop
				peak, readings, err := s.Stop()
				out <- fmt.Sprintf("executor peak memory (working set) %d MiB over %d kubelet readings (err %v)", peak.MemoryBytes>>20, readings, err)
				return
			}
			select {
			case <-stop:
				out <- "build pod not seen"
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return out
}

// TestAccImageResource_largeContext builds an incompressible context
// twice as large as the executor's memory limit, which Kaniko's
// compressed caching (off by default here) would hold in memory.
func TestAccImageResource_largeContext(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeIncompressible(t, filepath.Join(dir, "blob.bin"), largeContextBytes)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+a.env.BaseImage+"\nCOPY blob.bin /data/blob.bin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := uniqueRepo(a, "large")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "large" {
  repository        = %q
  context_dir       = %q
  delete_on_destroy = true
  resources {
    requests = { cpu = "500m", memory = "256Mi" }
    limits   = { memory = %q }
  }
  timeouts {
    create = "30m"
  }
}
`, repo, dir, largeContextMemoryLimit)
	stop := make(chan struct{})
	peak := sampleBuildPod(ctx, a, repo, stop)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				close(stop)
				t.Log(<-peak)
				t.Logf("timings: total %ss, upload %ss, build %ss, push %ss",
					stateAttr(s, "onesbuild_image.large", "timings.total"), stateAttr(s, "onesbuild_image.large", "timings.context_upload"),
					stateAttr(s, "onesbuild_image.large", "timings.build"), stateAttr(s, "onesbuild_image.large", "timings.push"))
				size := stateAttr(s, "onesbuild_image.large", "image_size_bytes")
				var n int64
				fmt.Sscan(size, &n)
				if n < largeContextBytes {
					return fmt.Errorf("image of %d bytes cannot hold the %d-byte file", n, int64(largeContextBytes))
				}
				return nil
			},
		}},
	})
}
