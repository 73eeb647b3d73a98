package feasibility

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/attest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// AllScenarios are every scenario a run can measure, in order.
var AllScenarios = []string{KanikoCold, KanikoWarm, Direct, DirectAttested, Floor, DirectTwoPlatforms, KanikoTwoPlatforms, ApplyKaniko, ApplyDirect, ApplyDirectTen, Monorepo, WorkloadCold, WorkloadCached, WorkloadLate, ParallelKaniko}

// Options select what a run measures.
type Options struct {
	// Runs is the number of measured runs per scenario.
	Runs int
	// Scenarios to run; empty runs all of them.
	Scenarios []string
	// Cleanup deletes every image the run pushed once the report is
	// made; otherwise the report names their repositories.
	Cleanup bool
	// Log receives progress.
	Log io.Writer
	// Monorepo sizes the monorepo scenario; zero is DefaultMonorepo.
	Monorepo MonorepoSize
}

// repoPrefix is where every image a run pushes goes, under the registry.
const repoPrefix = "onesbuild-feasibility"

// bench is one run in progress.
type bench struct {
	t      Target
	o      Options
	c      *connection
	r      *Report
	work   string
	kaniko *kaniko.Executor
	direct *direct.Executor

	mu     sync.Mutex
	pushed map[string][]string // repository -> digests

	// signer signs the attested direct builds; databases keeps the base
	// layers' package databases between them, as the provider's cache
	// does between applies.
	signerOnce sync.Once
	signer     signature.SignerVerifier
	signerErr  error
	databases  *attest.DatabaseCache
}

// Run measures the selected scenarios against the target and returns
// the report. Every pod it creates is deleted, whatever happens; images
// are deleted too with Options.Cleanup.
func Run(ctx context.Context, t Target, o Options) (*Report, error) {
	if o.Runs < 1 {
		o.Runs = 1
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = AllScenarios
	}
	c, err := t.connect()
	if err != nil {
		return nil, err
	}
	if c.forward != nil {
		defer c.forward.Stop()
	}
	if _, err := c.client.CoreV1().Namespaces().Get(ctx, t.Namespace, metav1.GetOptions{}); err != nil && !apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("namespace %q: %w", t.Namespace, err)
	}
	work, err := os.MkdirTemp("", "onesbuild-feasibility-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	b := &bench{t: t, o: o, c: c, work: work, pushed: map[string][]string{}, r: &Report{Skipped: map[string]string{}}, databases: &attest.DatabaseCache{}}
	b.kaniko = &kaniko.Executor{Client: c.client, Attacher: &kube.PodAttacher{Config: c.cfg, Client: c.client}}
	// With a layer cache, as the provider builds: the SBOM of a direct
	// build reads its layers there.
	b.direct = &direct.Executor{Registry: c.reg, IndexCacheDir: filepath.Join(work, "index"), LayerCacheDir: filepath.Join(work, "layers")}
	fmt.Fprintln(o.Log, "environment: cluster, nodes, registry round trip")
	b.r.Environment = t.environment(ctx, c, o.Log)
	b.r.Environment.Sampling = b.samplingNote()
	b.r.Environment.ExecutorResources = map[string]string{}
	for name, q := range build.DefaultResources.Requests {
		b.r.Environment.ExecutorResources["requests."+string(name)] = q.String()
	}
	for name, q := range build.DefaultResources.Limits {
		b.r.Environment.ExecutorResources["limits."+string(name)] = q.String()
	}
	b.r.Environment.Notes = b.definitions()
	defer b.cleanup(context.WithoutCancel(ctx))

	for _, name := range o.Scenarios {
		run, ok := b.scenarios()[name]
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(AllScenarios, ", "))
		}
		if reason := b.unavailable(name); reason != "" {
			b.r.Skipped[name] = reason
			fmt.Fprintf(o.Log, "%s: not measured: %s\n", name, reason)
			continue
		}
		fmt.Fprintf(o.Log, "%s: %d run(s)\n", name, o.Runs)
		if err := run(ctx, name); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			b.r.Skipped[name] = err.Error()
			fmt.Fprintf(o.Log, "%s: FAILED: %v\n", name, err)
		}
	}
	for repo := range b.pushed {
		// The fresh base copies are deleted in every case.
		if !b.isFreshBase(repo) {
			b.r.Repositories = append(b.r.Repositories, repo)
		}
	}
	sort.Strings(b.r.Repositories)
	if o.Cleanup {
		b.r.Repositories = nil
	}
	return b.r, nil
}

func (b *bench) scenarios() map[string]func(context.Context, string) error {
	return map[string]func(context.Context, string) error{
		KanikoCold:     b.kanikoStudy,
		KanikoWarm:     b.kanikoStudy,
		Direct:         b.directStudy,
		DirectAttested: b.directStudy,
		Floor:          b.floor,
		ApplyKaniko:    b.apply,
		ApplyDirect:    b.apply,
		ApplyDirectTen: b.apply,
		WorkloadCold:   b.workload,
		WorkloadCached: b.workload,
		WorkloadLate:   b.workload,
		ParallelKaniko: b.parallel,
		Monorepo:       b.monorepo,

		DirectTwoPlatforms: b.directTwoPlatforms,
		KanikoTwoPlatforms: b.kanikoTwoPlatforms,
	}
}

// unavailable says why a scenario cannot run here, or "".
func (b *bench) unavailable(name string) string {
	switch name {
	case Direct, DirectAttested, Floor, ApplyDirect, ApplyDirectTen, Monorepo:
		if !b.c.hostReachable {
			return "the registry is not reachable from this machine (give -registry-from-host or -registry-service)"
		}
	}
	switch name {
	case DirectTwoPlatforms, KanikoTwoPlatforms:
		switch {
		case b.t.BaseImageMulti == "":
			return "no multi-platform base image (give -base-image-multi)"
		case b.t.ContextDir != "":
			return "the two-platform builds use the study's hello server, compiled for each platform"
		case !b.c.hostReachable:
			return "the registry is not reachable from this machine, which pushes the image index (give -registry-from-host or -registry-service)"
		}
	case ApplyKaniko, ApplyDirect, ApplyDirectTen, Monorepo:
		if b.t.Terraform == "" || b.t.ProviderBinary == "" {
			return "no Terraform or OpenTofu CLI, or no provider binary"
		}
	case Floor:
		if b.t.ContextDir != "" {
			return "the floor appends the study's binary; it is measured for the study's context only"
		}
	}
	return ""
}

func (b *bench) definitions() []string {
	notes := []string{
		"kaniko cold: the executor is pulled with imagePullPolicy Always, Kaniko's layer cache is off, and the Dockerfile's base image is referenced under a repository never used before (a copy whose layers are mounted, deleted after the run).",
		"kaniko warm: imagePullPolicy IfNotPresent with the executor already on the node, Kaniko's registry layer cache on and filled by an unmeasured first build, the base image under its usual name.",
		"direct: the provider's direct executor from this machine: no pod; the base's file index is read once by an unmeasured first build, as it is once per machine and base.",
		"direct attested: the same build, then an SPDX SBOM of the pushed image (its added layer read as the tar the build kept in the layer cache on this machine, as the provider does), SLSA provenance, both attached as OCI referrers, and cosign signatures of the image and both, each document signed while it is pushed (what sbom {}, provenance {} and signing {} add); the base layers' package databases are read once by the unmeasured first build, as the provider caches them.",
		"floor: the same layer (the binary) appended to the same base and pushed with go-containerregistry alone, as crane append does: the least any build can do.",
		"Every run changes the application binary, as a code change would, so every build pushes a new layer.",
		"Phases come from the build engine the provider uses: the local clock for executor start, context upload and totals; Kaniko's timestamped log for base image pull, build and push.",
	}
	if b.t.Harness != nil {
		notes = append(notes, "On the harness, kaniko cold also removes the executor image, the base image and earlier builds from every node's container runtime.")
	}
	if !b.studyContext() {
		notes = append(notes, "This run built the user's own context; every run builds the same inputs, and the run phase is not measured.")
	}
	return notes
}

func (b *bench) logf(format string, args ...any) { fmt.Fprintf(b.o.Log, format+"\n", args...) }

// add records a sample, marked failed with err when there is one.
func (b *bench) add(s Sample, err error) {
	if err != nil {
		s.Error = err.Error()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.r.Samples = append(b.r.Samples, s)
	if s.Error != "" {
		b.logf("  %s run %d FAILED: %s", s.Mode, s.Run, s.Error)
		return
	}
	var parts []string
	for _, m := range []Metric{Apply, BuildTotal, BaseImagePull, Build, Push, RunFirstLog} {
		if v, ok := s.Values[m]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2fs", m, v))
		}
	}
	if s.Node != "" {
		parts = append(parts, "node "+s.Node)
	}
	b.logf("  %s run %d: %s", s.Mode, s.Run, strings.Join(parts, ", "))
}

// measure runs run n of scenario on a new Sample and records it with
// run's error, unless it is a warm-up (record false); it returns that
// error.
func (b *bench) measure(scenario string, n int, record bool, run func(s *Sample) error) error {
	s := Sample{Mode: scenario, Run: n, Values: map[Metric]float64{}}
	err := run(&s)
	if record {
		b.add(s, err)
	}
	return err
}

func (b *bench) recordPush(repo, digest string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pushed[repo] = append(b.pushed[repo], digest)
}

// recordBuild records a build's push to repo and puts its phases and
// digest in s.
func (b *bench) recordBuild(repo string, res *build.Result, s *Sample) {
	b.recordPush(repo, res.Digest)
	for phase, d := range res.Timings {
		s.Values[Metric(phase)] = d.Seconds()
	}
	s.Digest = res.Digest
	// An index's size is its platforms' images', which the executor
	// knows; the registry's description of an index counts manifests.
	size := res.ImageSize
	if size == 0 {
		for _, z := range res.PlatformSizes {
			size += z
		}
	}
	if size > 0 {
		s.Values[ImageSize] = float64(size)
	}
}

// Repository is where a run pushes the images of scenario, in registry
// (host[:port], as pods see it): what a check that -cleanup left nothing
// behind must look in.
func Repository(registry, scenario string) string {
	slug := strings.NewReplacer(" ", "-", ",", "", "x10", "ten").Replace(strings.ToLower(scenario))
	return registry + "/" + repoPrefix + "/" + slug
}

// repo is the repository of a scenario, as pods see it.
func (b *bench) repo(scenario string) string { return Repository(b.t.ClusterRegistry, scenario) }

// newContext writes a fresh context directory.
func (b *bench) newContext(nonce string) (string, error) {
	dir, err := os.MkdirTemp(b.work, "ctx-")
	if err != nil {
		return "", err
	}
	return dir, b.t.writeContext(dir, nonce)
}

func (b *bench) studyContext() bool { return b.t.ContextDir == "" }

// baseSpec is what every build of the benchmark shares.
func (b *bench) baseSpec(scenario, dir string) build.Spec {
	spec := build.Spec{
		Namespace: b.t.Namespace, Repository: b.repo(scenario), Tags: []string{"latest"},
		Context: build.Context{Source: &buildcontext.Source{Dir: dir, DockerfilePath: b.t.Dockerfile}},
		Created: time.Unix(0, 0),
		Pod:     build.PodOptions{Image: b.t.KanikoImage, Deadline: 15 * time.Minute},
	}
	if b.t.Insecure {
		spec.Registry.InsecureRegistries = []string{b.t.ClusterRegistry}
	}
	return spec
}

// checkArchitecture wraps next in the architecture check as the
// provider does: the platform the spec names, else the nodes' (when
// they can be listed), so that a build of one platform is checked too.
func (b *bench) checkArchitecture(next build.Executor) build.CheckArchitecture {
	return build.CheckArchitecture{Nodes: kube.Nodes{Client: b.c.client}, Next: next}
}

// runImage runs the built image until it logs the study's lines, and
// records the size when the build did not.
func (b *bench) runImage(ctx context.Context, repo, digest string, s *Sample) error {
	if _, known := s.Values[ImageSize]; !known && b.c.hostReachable {
		if img, err := b.c.reg.Describe(ctx, repo, digest); err == nil {
			s.Values[ImageSize] = float64(img.Size)
		}
	}
	if !b.studyContext() {
		return nil
	}
	nodeRef := b.t.NodeRegistry + strings.TrimPrefix(repo, b.t.ClusterRegistry) + "@" + digest
	run, err := kube.RunUntilLines(ctx, b.c.client, b.t.Namespace, nodeRef, []string{"Hello World", "Server started on port 8081"})
	if err != nil {
		return err
	}
	s.Values[RunFirstLog] = run.FirstLine.Seconds()
	s.Values[EndToEnd] = s.Values[BuildTotal] + run.FirstLine.Seconds()
	return nil
}
