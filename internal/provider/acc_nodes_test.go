package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// TestAccImageResource_buildsOnEveryWorker pins a build to each worker
// with node_selector and runs each image on another node than the one
// that built it: the registry, the mirrors and pod networking work from
// every node.
func TestAccImageResource_buildsOnEveryWorker(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	nodes, err := a.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var workers, all []string
	for _, n := range nodes.Items {
		all = append(all, n.Name)
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; !cp {
			workers = append(workers, n.Name)
		}
	}
	if len(workers) < 2 {
		t.Fatalf("the harness cluster has %d worker(s); this test needs two (ONESBUILD_NODES=2, the default)", len(workers))
	}
	a.removeKeptBuildPods(t)
	dir := studyContext(t)
	var config strings.Builder
	config.WriteString(a.providerBlock())
	for i, w := range workers {
		fmt.Fprintf(&config, `
resource "onesbuild_image" "on_%[1]d" {
  repository     = %[2]q
  tags           = ["on-%[1]d"]
  context_dir    = %[3]q
  keep_build_pod = true
  node_selector  = { "kubernetes.io/hostname" = %[4]q }
}
`, i, uniqueRepo(a, "per-node"), dir, w)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config.String(),
			Check: func(s *terraform.State) error {
				for i, w := range workers {
					name := fmt.Sprintf("onesbuild_image.on_%d", i)
					pod := strings.TrimPrefix(stateAttr(s, name, "build_pod"), "default/")
					p, err := a.client.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{})
					if err != nil {
						return err
					}
					_ = a.client.CoreV1().Pods("default").Delete(ctx, pod, metav1.DeleteOptions{})
					if p.Spec.NodeName != w {
						return fmt.Errorf("the build pinned to %s ran on %s", w, p.Spec.NodeName)
					}
					other := all[0]
					for _, n := range all {
						if n != w {
							other = n
						}
					}
					repo := stateAttr(s, name, "repository")
					image := a.env.NodeRegistry + strings.TrimPrefix(repo, a.env.ClusterRegistry) + "@" + stateAttr(s, name, "digest")
					run, err := kube.RunUntilLinesOn(ctx, a.client, "default", other, image, []string{"Hello World", "Server started on port 8081"})
					if err != nil {
						return fmt.Errorf("running the image built on %s on %s: %w", w, other, err)
					}
					if run.Node == w {
						return fmt.Errorf("the image built on %s also ran there", w)
					}
					t.Logf("built on %s, ran on %s: %q", w, run.Node, run.Lines)
				}
				return nil
			},
		}},
	})
}
