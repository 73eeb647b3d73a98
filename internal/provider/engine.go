package provider

import (
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"k8s.io/client-go/kubernetes"
)

// lostPodRetries is how often a build pod lost before Kaniko finished
// (evicted, node gone, deleted) is replaced by a new one.
const lostPodRetries = 1

// engine assembles the build engine for one build: the provider-wide
// queue, one snapshot of the context, history labels and retention, and
// lost-pod retries around the executor.
func (p *providerData) engine(client kubernetes.Interface, attacher kaniko.Attacher, log build.Logger) build.Executor {
	kanikoExec := &kaniko.Executor{
		Client: client, Attacher: attacher, Log: log,
		UnschedulableTimeout: p.unschedulableTimeout,
	}
	return build.Queued{Queue: p.queue, Log: log, Next: build.SnapshotContext{Next: build.History{
		ProviderVersion: p.version,
		Pruner:          p.registry,
		HistoryKey:      registry.HistoryKey,
		HistoryTag:      registry.HistoryTag,
		Log:             log,
		Next:            build.RetryLostPods{Retries: lostPodRetries, Log: log, Next: kanikoExec},
	}}}
}
