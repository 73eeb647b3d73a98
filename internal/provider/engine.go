package provider

import (
	"context"
	"os"
	"path/filepath"
	"runtime"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// lostPodRetries is how often a build pod lost before Kaniko finished
// (evicted, node gone, deleted) is replaced by a new one.
const lostPodRetries = 1

// engine assembles the build engine for one build: one snapshot of the
// context, history labels and retention, the choice of executor, and
// around Kaniko the provider-wide queue and lost-pod retries. Direct builds
// need no cluster; Kaniko builds fail with clusterErr when there is none.
func (p *providerData) engine(log build.Logger) build.Executor {
	client, attacher, clusterErr := p.cluster.Clients()
	var kanikoExec build.Executor = build.ExecutorFunc(func(context.Context, build.Spec) (*build.Result, error) {
		return &build.Result{Executor: build.ExecutorKaniko, Timings: build.Timings{}},
			&build.Failure{Reason: build.ReasonNoCluster, Message: "a Kaniko build runs in a pod", Err: clusterErr}
	})
	if clusterErr == nil {
		// The queue bounds the pods one apply runs in the cluster; direct
		// builds run no pod and do not wait for a slot.
		kanikoExec = build.Queued{Queue: p.queue, Log: log, Next: build.RetryLostPods{Retries: lostPodRetries, Log: log, Next: &kaniko.Executor{
			Client: client, Attacher: attacher, Log: log,
			UnschedulableTimeout: p.unschedulableTimeout,
		}}}
	}
	directExec := &direct.Executor{
		Registry:        p.registry,
		IndexCacheDir:   indexCacheDir(),
		DefaultPlatform: func(ctx context.Context) string { return clusterPlatform(ctx, client) },
		Log:             log,
	}
	if clusterErr == nil {
		directExec.Secrets = func(ctx context.Context, namespace, name string) (map[string][]byte, error) {
			s, err := client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return s.Data, nil
		}
	}
	return build.SnapshotContext{Next: build.History{
		ProviderVersion: p.version,
		Pruner:          p.registry,
		HistoryKey:      registry.HistoryKey,
		HistoryTag:      registry.HistoryTag,
		Log:             log,
		Next: direct.ResolveBase{Registry: p.registry, Next: build.Select{
			Kaniko:   kanikoExec,
			Direct:   directExec,
			Eligible: directExec.Eligible,
			Log:      log,
		}},
	}}
}

// indexCacheDir keeps base image file indexes between runs; "" (no
// cache) when the user has no cache directory.
func indexCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "onesbuild", "base-index")
}

// clusterPlatform is the platform a direct build picks from a
// multi-platform base when the resource names none: that of the
// cluster's nodes when they all agree (where Kaniko would run), else that
// of the machine running Terraform.
func clusterPlatform(ctx context.Context, client kubernetes.Interface) string {
	fallback := "linux/" + runtime.GOARCH
	if client == nil {
		return fallback
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 100})
	if err != nil || len(nodes.Items) == 0 {
		return fallback
	}
	platform := ""
	for _, n := range nodes.Items {
		p := n.Status.NodeInfo.OperatingSystem + "/" + n.Status.NodeInfo.Architecture
		if platform != "" && p != platform {
			return fallback
		}
		platform = p
	}
	return platform
}
