package testcluster

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

func (h *Harness) kindProvider() *cluster.Provider {
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindLogger{h.Progress}))
}

// ensureCluster reuses a healthy cluster or (re)creates it, then wires
// the registry into it.
func (h *Harness) ensureCluster(ctx context.Context) error {
	provider := h.kindProvider()
	names, err := provider.List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	exists := false
	for _, n := range names {
		exists = exists || n == h.ClusterName
	}
	certsD := h.certsDFiles()
	kindCfg := h.kindConfig(h.certsDPath())
	fingerprint, err := clusterFingerprint(kindCfg, certsD)
	if err != nil {
		return err
	}
	if exists {
		if err := provider.ExportKubeConfig(h.ClusterName, h.kubeconfigPath(), false); err == nil {
			switch got, err := h.healthyWithFingerprint(ctx); {
			case err != nil:
				h.Progress.Printf("kind cluster %s is not healthy (%v); recreating it", h.ClusterName, err)
			case got != fingerprint:
				h.Progress.Printf("kind cluster %s was created from another configuration (nodes, mirrors or node image); recreating it", h.ClusterName)
			default:
				err := h.Progress.Step("reuse the healthy kind cluster "+h.ClusterName+" (pod routes, registry, a pod on every node reaching it)", func() error {
					return h.reuseCluster(ctx)
				})
				if err == nil {
					return nil
				}
				if ctx.Err() != nil {
					return err
				}
				h.Progress.Printf("kind cluster %s cannot be reused (%v); recreating it", h.ClusterName, err)
			}
		}
		if err := provider.Delete(h.ClusterName, h.kubeconfigPath()); err != nil {
			return err
		}
	}
	if err := h.writeCertsD(certsD); err != nil {
		return err
	}
	err = h.Progress.Step("create kind cluster "+h.ClusterName+" (Kubernetes "+KubernetesVersion+")", func() error {
		return h.createCluster(ctx, provider, kindCfg)
	})
	if err != nil {
		return err
	}
	// The node image carries no CNI configuration: each node gets one
	// for its own pod subnet, and routes to the others' (no kindnetd
	// here), before it can become Ready.
	if err := h.Progress.Step("configure pod networking on every node (ptp per pod subnet, routes between nodes)", func() error {
		return h.wirePodNetwork(ctx)
	}); err != nil {
		return err
	}
	if err := h.Progress.Step("wait for every node to be Ready", func() error {
		return h.waitNodesReady(ctx, defaultCreateTimeout)
	}); err != nil {
		return err
	}
	if err := h.WireRegistry(ctx); err != nil {
		return err
	}
	err = h.Progress.Step("wait for CoreDNS, kube-proxy and the default service account", func() error {
		if err := h.waitSystemPods(ctx, 3*time.Minute); err != nil {
			return err
		}
		return h.waitDefaultServiceAccount(ctx, time.Minute)
	})
	if err != nil {
		return err
	}
	// Ready system pods are not yet a working path from a build pod to
	// the registry: the first build once took 15 s where later ones took
	// 3. Prove the path on every node the way Kaniko takes it (the
	// Service name through CoreDNS, then the registry), which also puts
	// the executor image on every node.
	err = h.Progress.Step("check that pods on every node resolve and reach "+clusterRegistryName, func() error {
		return h.waitRegistryFromPods(ctx, 2*time.Minute)
	})
	if err != nil {
		return err
	}
	return h.recordFingerprint(ctx, fingerprint)
}

// reuseCluster makes an existing cluster fit for builds again. A restart
// of Docker (or of the machine) restarts the node containers but not the
// routes between their pod subnets, and a pod's DNS query then never
// reaches CoreDNS on another node: so the routes are put back and the
// path from a pod on every node to the registry is proved, as after a
// create.
func (h *Harness) reuseCluster(ctx context.Context) error {
	if err := h.wirePodNetwork(ctx); err != nil {
		return err
	}
	if err := h.WireRegistry(ctx); err != nil {
		return err
	}
	return h.waitRegistryFromPods(ctx, 90*time.Second)
}

// createCluster runs kind's create, which takes no context: on Ctrl-C
// the half-made cluster is deleted, which ends the create within
// seconds instead of minutes. A create that fails keeps kind's logs
// (node journals, containerd, kubelet) for whoever investigates.
func (h *Harness) createCluster(ctx context.Context, provider *cluster.Provider, cfg *v1alpha4.Cluster) error {
	done := make(chan error, 1)
	go func() {
		done <- provider.Create(h.ClusterName,
			cluster.CreateWithV1Alpha4Config(cfg),
			cluster.CreateWithKubeconfigPath(h.kubeconfigPath()),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false),
			cluster.CreateWithRetain(true),
		)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		h.Progress.Printf("interrupted: deleting the half-made cluster %s", h.ClusterName)
		_ = provider.Delete(h.ClusterName, h.kubeconfigPath())
		<-done
		return ctx.Err()
	}
	if err == nil {
		return nil
	}
	logs := filepath.Join(h.Cache.Path("logs"), "kind-"+h.ClusterName+"-"+time.Now().UTC().Format("20060102T150405Z"))
	if cerr := provider.CollectLogs(h.ClusterName, logs); cerr == nil {
		h.Progress.Printf("kind's logs of the failed create: %s", logs)
		err = fmt.Errorf("%w (kind's logs: %s)", err, logs)
	} else {
		h.Progress.Printf("collecting kind's logs failed: %v", cerr)
	}
	_ = provider.Delete(h.ClusterName, h.kubeconfigPath())
	return err
}

func (h *Harness) client() (kubernetes.Interface, error) {
	_, client, err := kube.ClientsFromKubeconfig(h.kubeconfigPath())
	return client, err
}
