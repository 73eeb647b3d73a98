package feasibility

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// AllScenarios are every scenario a run can measure, in order.
var AllScenarios = []string{KanikoCold, KanikoWarm, Direct, Floor, ApplyKaniko, ApplyDirect, ApplyDirectTen, WorkloadCold, WorkloadCached, WorkloadLate, ParallelKaniko}

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
	if _, err := c.client.CoreV1().Namespaces().Get(ctx, t.Namespace, metav1.GetOptions{}); err != nil && !isForbidden(err) {
		return nil, fmt.Errorf("namespace %q: %w", t.Namespace, err)
	}
	work, err := os.MkdirTemp("", "onesbuild-feasibility-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	b := &bench{t: t, o: o, c: c, work: work, pushed: map[string][]string{}, r: &Report{Skipped: map[string]string{}}}
	b.kaniko = &kaniko.Executor{Client: c.client, Attacher: &kube.PodAttacher{Config: c.cfg, Client: c.client}}
	b.direct = &direct.Executor{Registry: c.reg, IndexCacheDir: filepath.Join(work, "index")}
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
	sortStrings(b.r.Repositories)
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
		Floor:          b.floor,
		ApplyKaniko:    b.apply,
		ApplyDirect:    b.apply,
		ApplyDirectTen: b.apply,
		WorkloadCold:   b.workload,
		WorkloadCached: b.workload,
		WorkloadLate:   b.workload,
		ParallelKaniko: b.parallel,
	}
}

// unavailable says why a scenario cannot run here, or "".
func (b *bench) unavailable(name string) string {
	switch name {
	case Direct, Floor, ApplyDirect, ApplyDirectTen:
		if !b.c.hostReachable {
			return "the registry is not reachable from this machine (give -registry-from-host or -registry-service)"
		}
	}
	switch name {
	case ApplyKaniko, ApplyDirect, ApplyDirectTen:
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

func (b *bench) recordPush(repo, digest string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pushed[repo] = append(b.pushed[repo], digest)
}

// repo is the repository of a scenario, as pods see it.
func (b *bench) repo(scenario string) string {
	slug := strings.NewReplacer(" ", "-", ",", "", "x10", "ten").Replace(strings.ToLower(scenario))
	return b.t.ClusterRegistry + "/" + repoPrefix + "/" + slug
}

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
		Source:  &buildcontext.Source{Dir: dir, DockerfilePath: b.t.Dockerfile},
		Created: time.Unix(0, 0),
		Pod:     build.PodOptions{Image: b.t.KanikoImage, Deadline: 15 * time.Minute},
	}
	if b.t.Insecure {
		spec.Registry.InsecureRegistries = []string{b.t.ClusterRegistry}
	}
	return spec
}

// kanikoBuild runs one Kaniko build, sampling the executor's peaks, and
// fills s.
func (b *bench) kanikoBuild(ctx context.Context, spec build.Spec, s *Sample) (*build.Result, error) {
	exec := *b.kaniko
	var sampler peakSampler
	exec.OnExecutorStarted = func(pod *corev1.Pod) {
		s.Node = pod.Spec.NodeName
		sampler = b.startSampler(ctx, pod)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	res, err := exec.Build(ctx, spec)
	if sampler != nil {
		if cpu, mem, ok := sampler.peaks(); ok {
			s.Values[PeakCPU], s.Values[PeakMemory] = cpu, mem
		}
	}
	if err != nil {
		return res, err
	}
	b.recordPush(spec.Repository, res.Digest)
	for phase, d := range res.Timings {
		s.Values[Metric(phase)] = d.Seconds()
	}
	s.Digest = res.Digest
	return res, nil
}

// runImage runs the built image until it logs the study's lines, and
// records the size.
func (b *bench) runImage(ctx context.Context, repo, digest string, s *Sample) error {
	if b.c.hostReachable {
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

func (b *bench) kanikoStudy(ctx context.Context, scenario string) error {
	cold := scenario == KanikoCold
	if !cold {
		b.logf("  warm-up: one unmeasured build fills Kaniko's layer cache and the node")
		if err := b.kanikoStudyRun(ctx, scenario, 0, false); err != nil {
			return fmt.Errorf("warm-up build: %w", err)
		}
	}
	for i := 1; i <= b.o.Runs; i++ {
		if err := b.kanikoStudyRun(ctx, scenario, i, true); err != nil && ctx.Err() != nil {
			return err
		}
	}
	return nil
}

func (b *bench) kanikoStudyRun(ctx context.Context, scenario string, n int, record bool) error {
	cold := scenario == KanikoCold
	s := Sample{Mode: scenario, Run: n, Values: map[Metric]float64{}}
	err := func() error {
		nonce := fmt.Sprintf("%s %d %d", scenario, n, time.Now().UnixNano())
		dir, err := b.newContext(nonce)
		if err != nil {
			return err
		}
		spec := b.baseSpec(scenario, dir)
		if cold {
			spec.Pod.ImagePullPolicy = corev1.PullAlways
			if err := b.clearNodes(ctx); err != nil {
				return err
			}
			if err := b.useFreshBase(ctx, dir, nonce); err != nil {
				return err
			}
		} else {
			spec.Pod.Cache = build.Cache{Enabled: true, Repo: b.repo(scenario) + "-cache"}
			spec.Pod.ExtraArgs = []string{"--cache-copy-layers=true"}
		}
		res, err := b.kanikoBuild(ctx, spec, &s)
		if err != nil {
			return err
		}
		return b.runImage(ctx, spec.Repository, res.Digest, &s)
	}()
	if record {
		b.add(s, err)
	}
	return err
}

func (b *bench) directStudy(ctx context.Context, scenario string) error {
	b.logf("  warm-up: one unmeasured build reads the base image's file index once")
	if err := b.directRun(ctx, scenario, 0, false); err != nil {
		return fmt.Errorf("warm-up build: %w", err)
	}
	for i := 1; i <= b.o.Runs; i++ {
		_ = b.directRun(ctx, scenario, i, true)
	}
	return nil
}

func (b *bench) directRun(ctx context.Context, scenario string, n int, record bool) error {
	s := Sample{Mode: scenario, Run: n, Values: map[Metric]float64{}}
	err := func() error {
		dir, err := b.newContext(fmt.Sprintf("%s %d %d", scenario, n, time.Now().UnixNano()))
		if err != nil {
			return err
		}
		spec := b.baseSpec(scenario, dir)
		spec.Executor = build.ExecutorDirect
		res, err := b.direct.Build(ctx, spec)
		if err != nil {
			return err
		}
		b.recordPush(spec.Repository, res.Digest)
		for phase, d := range res.Timings {
			s.Values[Metric(phase)] = d.Seconds()
		}
		s.Digest = res.Digest
		return b.runImage(ctx, spec.Repository, res.Digest, &s)
	}()
	if record {
		b.add(s, err)
	}
	return err
}

// parallel starts builds at once, two per node (at least four), and
// records where each ran.
func (b *bench) parallel(ctx context.Context, scenario string) error {
	k := max(4, 2*b.r.Environment.Nodes)
	var wg sync.WaitGroup
	for i := 1; i <= k; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			s := Sample{Mode: scenario, Run: n, Values: map[Metric]float64{}}
			dir, err := b.newContext(fmt.Sprintf("%s %d %d", scenario, n, time.Now().UnixNano()))
			if err == nil {
				spec := b.baseSpec(scenario, dir)
				spec.Tags = []string{fmt.Sprintf("run-%d", n)}
				_, err = b.kanikoBuild(ctx, spec, &s)
			}
			b.add(s, err)
		}(i)
	}
	wg.Wait()
	return nil
}

// useFreshBase points the context's Dockerfile at a copy of the base
// image under a repository never used before (its layers mounted, not
// copied), so that nothing could have cached it by name.
func (b *bench) useFreshBase(ctx context.Context, dir, nonce string) error {
	if !b.c.hostReachable || !b.studyContext() {
		return nil
	}
	fresh := fmt.Sprintf("%s/%s/base-%x:%s", b.t.ClusterRegistry, repoPrefix, time.Now().UnixNano(), "fresh")
	digest, err := copyImage(ctx, b.c.reg, b.t.BaseImage, fresh)
	if err != nil {
		return fmt.Errorf("copying the base image to a fresh name: %w", err)
	}
	repo, _ := splitRef(fresh)
	b.recordPush(repo, digest)
	df := strings.Replace(b.t.StudyDockerfile, "FROM "+b.t.BaseImage, "FROM "+fresh, 1)
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
}

// clearNodes removes the executor image, the base image and earlier
// builds from every node of the harness's cluster, so that cold runs
// pull everything again. Real clusters are not touched.
func (b *bench) clearNodes(ctx context.Context) error {
	if b.t.Harness == nil {
		return nil
	}
	baseRepo, _ := splitRef(b.t.BaseImage)
	kanikoRepo, _ := splitRef(b.t.KanikoImage)
	for _, n := range b.r.Environment.NodeList {
		list, err := b.t.Harness.Exec(ctx, n.Name, "ctr", "-n", "k8s.io", "images", "ls")
		if err != nil {
			return fmt.Errorf("listing the images of node %s: %w", n.Name, err)
		}
		type row struct{ ref, digest string }
		var rows []row
		targets := map[string]bool{}
		for _, line := range strings.Split(string(list), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			rows = append(rows, row{f[0], f[2]})
			for _, want := range []string{kanikoRepo[strings.Index(kanikoRepo, "/"):], "/" + repoPrefix + "/", baseRepo[strings.Index(baseRepo, "/"):]} {
				if strings.Contains(f[0], want) {
					targets[f[2]] = true
				}
			}
		}
		var remove []string
		for _, r := range rows {
			if targets[r.digest] {
				remove = append(remove, r.ref)
			}
		}
		if len(remove) == 0 {
			continue
		}
		if out, err := b.t.Harness.Exec(ctx, n.Name, append([]string{"ctr", "-n", "k8s.io", "images", "rm", "--sync"}, remove...)...); err != nil {
			return fmt.Errorf("removing images from node %s: %v: %s", n.Name, err, out)
		}
	}
	return nil
}

// cleanup deletes what the run created and left: the fresh base copies
// always, every pushed image with Options.Cleanup.
func (b *bench) cleanup(ctx context.Context) {
	if !b.c.hostReachable {
		return
	}
	for repo, digests := range b.pushed {
		if !b.o.Cleanup && !b.isFreshBase(repo) {
			continue
		}
		for _, d := range digests {
			if err := b.c.reg.Delete(ctx, repo, d); err != nil && !errors.Is(err, context.Canceled) {
				b.logf("cleanup: %s@%s: %v", repo, d, err)
			}
		}
	}
	if b.o.Cleanup {
		b.logf("cleanup: deleted the images of %d repositories", len(b.pushed))
	}
}

// isFreshBase tells the base image copies of cold runs, which are
// deleted after the run, from the images the run built.
func (b *bench) isFreshBase(repo string) bool {
	return strings.Contains(repo, "/"+repoPrefix+"/base-")
}

func (b *bench) samplingNote() string {
	if b.t.Harness != nil {
		return "the executor container's cgroup on the node, every 100 ms; CPU is the highest rate over one interval, memory includes page cache"
	}
	return "the kubelet's summary API through the API server's node proxy, polled every 1 s; the kubelet refreshes container statistics every 10 to 15 s, so builds shorter than that may have no reading (shown as not measured); memory is the working set"
}

func (b *bench) definitions() []string {
	notes := []string{
		"kaniko cold: the executor is pulled with imagePullPolicy Always, Kaniko's layer cache is off, and the Dockerfile's base image is referenced under a repository never used before (a copy whose layers are mounted, deleted after the run).",
		"kaniko warm: imagePullPolicy IfNotPresent with the executor already on the node, Kaniko's registry layer cache on and filled by an unmeasured first build, the base image under its usual name.",
		"direct: the provider's direct executor from this machine: no pod; the base's file index is read once by an unmeasured first build, as it is once per machine and base.",
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

// peakSampler follows one executor container.
type peakSampler interface {
	// peaks stops sampling and returns the peaks, ok=false when nothing
	// was read.
	peaks() (cpuMillicores, memoryBytes float64, ok bool)
}

func (b *bench) startSampler(ctx context.Context, pod *corev1.Pod) peakSampler {
	if b.t.Harness != nil {
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == kaniko.ContainerName && cs.ContainerID != "" {
				id := cs.ContainerID[strings.Index(cs.ContainerID, "://")+3:]
				s := &cgroupPeaks{done: make(chan struct{})}
				go func() {
					defer close(s.done)
					s.out, _ = b.t.Harness.Exec(ctx, pod.Spec.NodeName, "sh", "-c", CgroupSampler, "sampler", id)
				}()
				return s
			}
		}
		return nil
	}
	s := &kube.StatsSampler{Client: b.c.client, Node: pod.Spec.NodeName, Namespace: pod.Namespace, Pod: pod.Name, Container: kaniko.ContainerName, Interval: time.Second}
	s.Start(ctx)
	return kubeletPeaks{s}
}

type cgroupPeaks struct {
	out  []byte
	done chan struct{}
}

func (c *cgroupPeaks) peaks() (float64, float64, bool) {
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		return 0, 0, false
	}
	p := ParseCgroupSamples(bytes.NewReader(c.out))
	return p.CPUMillicores, float64(p.MemoryBytes), p.Samples > 0
}

type kubeletPeaks struct{ s *kube.StatsSampler }

func (k kubeletPeaks) peaks() (float64, float64, bool) {
	peak, readings, _ := k.s.Stop()
	return peak.MilliCPU, float64(peak.MemoryBytes), readings > 0 && peak.MemoryBytes > 0
}
