package provider

import (
	"os"
	"path/filepath"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// lostPodRetries is how often a build pod lost before Kaniko finished
// (evicted, node gone, deleted) is replaced by a new one.
const lostPodRetries = 1

// engine assembles the build engine for one build: one snapshot of the
// context, history labels and retention, the architecture check of what
// the Dockerfile copies, the choice of executor, and
// around Kaniko the base digest it does not report, one pod per platform
// of a multi-platform build, the provider-wide queue and the retries of
// lost pods and registry failures. Direct builds need no cluster; Kaniko
// builds fail with the connection's error when there is none.
func (p *providerData) engine(log build.Logger) build.Executor {
	client, attacher, clusterErr := p.cluster.Clients()
	// Without a cluster Kaniko still plans (its checks read only the
	// Dockerfile) and every build fails with the connection's error. The
	// queue bounds the pods one apply runs in the cluster; direct builds
	// run no pod and do not wait for a slot.
	var nodes build.NodePlatforms
	if clusterErr == nil {
		nodes = kube.Nodes{Client: client}
	}
	kanikoExec := kaniko.RecordBaseDigest{Registry: p.registry, Next: kaniko.MultiPlatform{Registry: p.registry, Nodes: nodes, Log: log,
		Next: build.ConcurrencyLimit{Queue: p.queue, Log: log,
			Next: build.RetryTransient{Retries: lostPodRetries, Log: log, Next: &kaniko.Executor{
				Client: client, ClusterErr: clusterErr, Attacher: attacher, Log: log, Bases: p.registry,
				UnschedulableTimeout: p.unschedulableTimeout,
			}}}}}
	directExec := &direct.Executor{Registry: p.registry, IndexCacheDir: indexCacheDir(), LayerCacheDir: cacheDir("layers"), Log: log}
	if clusterErr == nil {
		directExec.Secrets = kube.Secrets{Client: client}
		directExec.Nodes = kube.Nodes{Client: client}
	}
	return build.SnapshotContext{Next: build.RecordHistory{
		ProviderVersion: p.version,
		Pruner:          p.registry,
		HistoryKey:      registry.HistoryKey,
		HistoryTag:      registry.HistoryTag,
		Log:             log,
		Next: build.CheckArchitecture{Nodes: nodes, Log: log,
			Next: build.ChooseExecutor{Kaniko: kanikoExec, Direct: directExec, Log: log}},
	}}
}

// sharedContextHashes is the context hash cache of this process, kept
// under the user's cache directory: every resource, data source and
// function call shares it.
var sharedContextHashes = &buildcontext.HashCache{Dir: cacheDir("context-hash")}

// cacheDir is the named cache under the user's cache directory; "" (in
// memory only) when the user has none.
func cacheDir(name string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "onesbuild", name)
}

// indexCacheDir keeps base image file indexes between runs; "" (no
// cache) when the user has no cache directory.
func indexCacheDir() string { return cacheDir("base-index") }
