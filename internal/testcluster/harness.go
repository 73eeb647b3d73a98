package testcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the harness; every one can be overridden in Options.
const (
	DefaultClusterName  = "onesbuild"
	DefaultRegistryName = "onesbuild-registry"
	DefaultRegistryPort = 5000
	// DefaultWorkers makes the harness a control plane and two workers,
	// so that builds, pulls and runs cross nodes as in real clusters.
	DefaultWorkers       = 2
	registryVolume       = "onesbuild-registry-data"
	clusterRegistryName  = "registry.kube-system.svc.cluster.local:5000"
	kindNetwork          = "kind"
	nodeImageRepository  = "onesbuild/kind-node"
	registryImageRepo    = "onesbuild/registry"
	defaultCreateTimeout = 5 * time.Minute
)

// Options configures the harness.
type Options struct {
	// ClusterName is the kind cluster's name.
	ClusterName string
	// RegistryName is the registry container's name; nodes reach the
	// registry under it on the kind network.
	RegistryName string
	// RegistryPort is the registry's port on the host's loopback.
	RegistryPort int
	// Mirror is a registry prefix tried before public registries and
	// before building, for example "mirror.internal:5000/onesbuild".
	Mirror string
	// Offline skips every attempt to pull from a registry.
	Offline bool
	// Workers is the number of worker nodes beside the control plane;
	// 0 is a single node that runs everything.
	Workers int
	// Cosign also builds the cosign CLI (from the Go module proxy, beside
	// the other compiles), which the acceptance tests use to check the
	// provider's signatures independently.
	Cosign bool
	// Cache holds build outputs.
	Cache Cache
	// StateDir holds the kubeconfig and env.json of the cluster.
	StateDir string
	// Out receives progress.
	Out io.Writer
}

// OptionsFromEnv reads ONESBUILD_CLUSTER, ONESBUILD_REGISTRY_PORT,
// ONESBUILD_IMAGE_MIRROR, ONESBUILD_OFFLINE, ONESBUILD_NODES (worker
// nodes, default DefaultWorkers) and ONESBUILD_CACHE.
func OptionsFromEnv(out io.Writer) Options {
	o := Options{
		ClusterName: os.Getenv("ONESBUILD_CLUSTER"),
		Mirror:      os.Getenv("ONESBUILD_IMAGE_MIRROR"),
		Offline:     os.Getenv("ONESBUILD_OFFLINE") == "1" || os.Getenv("ONESBUILD_OFFLINE") == "true",
		Cache:       DefaultCache(),
		Out:         out,
	}
	if p, err := strconv.Atoi(os.Getenv("ONESBUILD_REGISTRY_PORT")); err == nil {
		o.RegistryPort = p
	}
	o.Cosign = strings.Contains(","+os.Getenv("ONESBUILD_TEST_TOOLS")+",", ",cosign,")
	o.Workers = DefaultWorkers
	if n, err := strconv.Atoi(os.Getenv("ONESBUILD_NODES")); err == nil && n >= 0 {
		o.Workers = n
	}
	return o
}

// Harness creates and removes the test environment.
type Harness struct {
	Options
	Progress *Progress
}

// New fills in defaults.
func New(o Options) *Harness {
	if o.ClusterName == "" {
		o.ClusterName = DefaultClusterName
	}
	if o.RegistryName == "" {
		o.RegistryName = DefaultRegistryName
	}
	if o.RegistryPort == 0 {
		o.RegistryPort = DefaultRegistryPort
	}
	if o.Cache.Dir == "" {
		o.Cache = DefaultCache()
	}
	if o.StateDir == "" {
		o.StateDir = o.Cache.Path("state", o.ClusterName)
	}
	return &Harness{Options: o, Progress: &Progress{Out: o.Out}}
}

// Env is where everything is once the harness is up. It is written to
// <StateDir>/env.json for tests and scripts.
type Env struct {
	ClusterName string `json:"cluster_name"`
	Kubeconfig  string `json:"kubeconfig"`
	// HostRegistry is the registry as the host sees it (localhost:5000).
	HostRegistry string `json:"host_registry"`
	// ClusterRegistry is the registry as pods see it, where Kaniko pushes.
	ClusterRegistry string `json:"cluster_registry"`
	// NodeRegistry is the registry as the kubelet pulls from it.
	NodeRegistry string `json:"node_registry"`
	// KanikoImage is the executor image as build pods reference it.
	KanikoImage string `json:"kaniko_image"`
	// LegacyKanikoImage is the archived upstream's v1.24.0 executor.
	LegacyKanikoImage string `json:"legacy_kaniko_image"`
	// BaseImage is the study's base image as a Dockerfile names it.
	BaseImage string `json:"base_image"`
	// BaseImageMulti is the same base as an OCI index of linux/amd64 and
	// linux/arm64/v8, as a Dockerfile names it.
	BaseImageMulti string `json:"base_image_multi"`
	// NodeImage is the kind node image.
	NodeImage string `json:"node_image"`
	// KubernetesVersion of the cluster.
	KubernetesVersion string `json:"kubernetes_version"`
	// Workers is the number of worker nodes.
	Workers int `json:"workers"`
	// Cosign is the path of the cosign CLI, when it was asked for
	// (ONESBUILD_TEST_TOOLS=cosign).
	Cosign string `json:"cosign,omitempty"`
}

func (h *Harness) hostRegistry() string { return "localhost:" + strconv.Itoa(h.RegistryPort) }

func (h *Harness) kubeconfigPath() string { return filepath.Join(h.StateDir, "kubeconfig") }

// EnvPath is where Up writes the Env.
func (h *Harness) EnvPath() string { return filepath.Join(h.StateDir, "env.json") }

func (h *Harness) env() Env {
	return Env{
		ClusterName:       h.ClusterName,
		Kubeconfig:        h.kubeconfigPath(),
		HostRegistry:      h.hostRegistry(),
		ClusterRegistry:   clusterRegistryName,
		NodeRegistry:      "localhost:5000",
		KanikoImage:       "localhost:5000/" + kanikoImagePath,
		LegacyKanikoImage: "localhost:5000/" + legacyKanikoImagePath,
		BaseImage:         clusterRegistryName + "/" + StudyBaseImage,
		BaseImageMulti:    clusterRegistryName + "/" + StudyBaseMultiImage,
		NodeImage:         nodeImageRepository + ":" + KubernetesVersion,
		KubernetesVersion: KubernetesVersion,
		Workers:           h.Workers,
	}
}

// Up creates or reuses the registry and the cluster and returns where
// they are. It is idempotent: a healthy environment is reused as is.
func (h *Harness) Up(ctx context.Context) (*Env, error) {
	start := time.Now()
	if err := h.Preflight(ctx); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(h.StateDir, 0o755); err != nil {
		return nil, err
	}
	// What the node image needs is known before the registry runs, and
	// the registry's own image takes minutes to compile on a cold
	// machine: start the longest work first.
	early := h.prefetch(ctx, h.nodeImageWork(ctx))
	defer early()
	if err := h.Progress.Step("start the local registry", func() error { return h.ensureRegistry(ctx) }); err != nil {
		return nil, err
	}
	prefetch := h.prefetch(ctx, h.coldWork(ctx))
	defer prefetch()
	for _, img := range registryImages() {
		if err := h.ensureRegistryImage(ctx, img); err != nil {
			return nil, err
		}
	}
	if err := h.ensureNodeImage(ctx); err != nil {
		return nil, err
	}
	if err := h.ensureCluster(ctx); err != nil {
		return nil, err
	}
	env := h.env()
	if h.Cosign {
		// Started by the prefetch beside the long compiles on a cold
		// machine; this waits for it, or is a no-op when cached.
		if err := cosignComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
			return nil, err
		}
		env.Cosign = cosignComponent.Binary(h.Cache, "cosign")
	}
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(h.EnvPath(), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	h.Progress.Printf("environment ready in %s", since(start))
	return &env, nil
}

// coldWork is what a start must build because it is missing.
type coldWork struct {
	components                 []goComponent
	rootfs, studyBase, busybox bool
	// studyBaseForeign are the architectures other than the host's whose
	// study base layers are needed.
	studyBaseForeign []string
}

// coldWork finds what is missing: images absent from the local registry
// or built from an older recipe, and the node image.
func (h *Harness) coldWork(ctx context.Context) coldWork {
	var w coldWork
	seen := map[string]bool{}
	need := func(cs ...goComponent) {
		for _, c := range cs {
			if !seen[c.Name] {
				seen[c.Name] = true
				w.components = append(w.components, c)
			}
		}
	}
	for _, img := range registryImages() {
		if present, err := h.registryImagePresent(ctx, img); err == nil && present {
			continue
		}
		need(img.Needs...)
		w.rootfs = w.rootfs || img.NeedsRootfs
		w.studyBase = w.studyBase || img.Path == StudyBaseImage || img.Path == StudyBaseMultiImage
		if img.Path == StudyBaseMultiImage {
			for _, p := range studyBasePlatforms {
				if p.Architecture != hostArch() {
					w.studyBaseForeign = append(w.studyBaseForeign, p.Architecture)
				}
			}
		}
		w.busybox = w.busybox || len(img.Needs) > 0 && (img.Needs[0].Name == kanikoComponent.Name || img.Needs[0].Name == legacyKanikoComponent.Name)
	}
	if nw := h.nodeImageWork(ctx); nw.rootfs {
		need(nw.components...)
		w.rootfs = true
	}
	if h.Cosign && !cosignComponent.built(h.Cache) {
		need(cosignComponent)
	}
	// The longest compile first, so the others fit beside it.
	sort.SliceStable(w.components, func(i, j int) bool { return w.components[i].Name == kubernetesComponent.Name })
	return w
}

// nodeImageWork is what the kind node image needs when Docker lacks it
// (or holds one from an older recipe): Kubernetes and the root file
// system. It needs no registry to find out.
func (h *Harness) nodeImageWork(ctx context.Context) coldWork {
	if nodeImagePresent(ctx) {
		return coldWork{}
	}
	return coldWork{components: []goComponent{kubernetesComponent}, rootfs: true}
}

// prefetch starts, in the background, the slow parts of a cold start
// that do not depend on each other: the node's and the study base's
// Debian file systems (mostly downloads) next to the Go compiles, two of
// which run at a time. Up then asks for each as before and waits for the
// one in flight instead of starting it again; a prefetch that fails is
// simply done again there, where its error is reported. The returned
// function waits for the background work to stop.
func (h *Harness) prefetch(ctx context.Context, work coldWork) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	if work.rootfs {
		run(func() { _, _ = h.nodeRootfsLayer(ctx) })
	}
	if work.studyBase {
		run(func() { _, _ = h.studyBaseImage(ctx) })
	}
	for _, arch := range work.studyBaseForeign {
		run(func() { _, _ = h.studyBaseLayer(ctx, arch) })
	}
	if work.busybox {
		run(func() { _, _ = h.busybox(ctx) })
	}
	compiles := make(chan goComponent, len(work.components))
	for _, c := range work.components {
		compiles <- c
	}
	close(compiles)
	for i := 0; i < 2; i++ {
		run(func() {
			for c := range compiles {
				if ctx.Err() != nil {
					return
				}
				_ = c.Ensure(ctx, h.Cache, h.Progress)
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// LoadEnv reads the Env written by a previous Up.
func LoadEnv(path string) (*Env, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s (run make cluster-up first): %w", path, err)
	}
	var env Env
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &env, nil
}

// Down deletes the cluster. The registry and its data stay, so images
// survive cluster recreation; DownAll removes them too.
func (h *Harness) Down(ctx context.Context) error {
	return h.Progress.Step("delete kind cluster "+h.ClusterName, func() error {
		if err := h.kindProvider().Delete(h.ClusterName, h.kubeconfigPath()); err != nil {
			return err
		}
		_ = os.Remove(h.EnvPath())
		return nil
	})
}

// DownAll deletes the cluster, the registry container and its volume.
func (h *Harness) DownAll(ctx context.Context) error {
	if err := h.Down(ctx); err != nil {
		return err
	}
	return h.Progress.Step("remove the registry container and its data", func() error {
		_, _ = output(ctx, cmd("docker", "rm", "-f", h.RegistryName))
		_, _ = output(ctx, cmd("docker", "volume", "rm", "-f", registryVolume))
		return nil
	})
}
