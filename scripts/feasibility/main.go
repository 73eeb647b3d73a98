// Command feasibility reruns the feasibility study's flow (build the
// study's image with Kaniko in the cluster, push it to the in-cluster
// registry, pull and run it on the node until it logs) N times cold and
// N times warm against the harness cluster, measures every phase, the
// executor's peak CPU and memory and the image size, and writes
// feasibility-report.md, feasibility.json and feasibility.svg.
//
// Cold: the node holds neither the executor image nor earlier builds,
// and Kaniko's layer cache is off. Warm: the executor image and the base
// layers are on the node and Kaniko's registry layer cache is on and
// filled by an unmeasured first build. Each run changes the application
// binary, as a code change would, so the COPY layer is always new.
//
// It builds through the same engine the provider uses (internal/build).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/feasibility"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/testcluster"
)

func main() {
	runs := flag.Int("runs", 5, "runs per mode")
	out := flag.String("out", "feasibility/out", "directory for the report, the JSON and the chart")
	modes := flag.String("modes", "cold,warm", "modes to run, comma separated")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *runs, *out, strings.Split(*modes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "feasibility:", err)
		os.Exit(1)
	}
}

type bench struct {
	env     *testcluster.Env
	cfg     *rest.Config
	client  kubernetes.Interface
	reg     *registry.Client
	node    string
	repo    string
	dir     string
	binary  []byte
	builder *kaniko.Executor
	// baseImageClaim holds the warmed base image cache in warm mode.
	baseImageClaim string
}

func run(ctx context.Context, runs int, out string, modes []string) error {
	h := testcluster.New(testcluster.OptionsFromEnv(os.Stderr))
	env, err := testcluster.LoadEnv(h.EnvPath())
	if err != nil {
		return err
	}
	b, err := newBench(ctx, env)
	if err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	report := feasibility.Report{Environment: b.environment(ctx)}
	for _, mode := range modes {
		if mode == "warm" {
			fmt.Fprintln(os.Stderr, "warm: caching the base image with Kaniko's warmer, then one unmeasured build for the layer cache and the node")
			claim, err := b.prepareBaseImageCache(ctx)
			if err != nil {
				return err
			}
			defer b.removeBaseImageCache(context.WithoutCancel(ctx))
			b.baseImageClaim = claim
			if _, err := b.once(ctx, "warm", 0); err != nil {
				return fmt.Errorf("warm-up build: %w", err)
			}
		}
		for i := 1; i <= runs; i++ {
			s, err := b.once(ctx, mode, i)
			if err != nil {
				s.Error = err.Error()
				fmt.Fprintf(os.Stderr, "%s run %d FAILED: %v\n", mode, i, err)
			} else {
				fmt.Fprintf(os.Stderr, "%s run %d: total %.2fs, run %.2fs, base %.2fs, build %.2fs, push %.2fs, peak %.0fm / %.0fMi\n", mode, i,
					s.Values[feasibility.BuildTotal], s.Values[feasibility.RunFirstLog], s.Values[feasibility.BaseImagePull],
					s.Values[feasibility.Build], s.Values[feasibility.Push], s.Values[feasibility.PeakCPU], s.Values[feasibility.PeakMemory]/(1<<20))
			}
			report.Samples = append(report.Samples, s)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	data, err := report.JSON()
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"feasibility-report.md": []byte(report.Markdown()),
		"feasibility.json":      data,
		"feasibility.svg":       []byte(report.SVG()),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(out, name), content, 0o644); err != nil {
			return err
		}
	}
	fmt.Println(report.Markdown())
	fmt.Printf("Written: %s/{feasibility-report.md,feasibility.json,feasibility.svg}\n", out)
	return nil
}

func newBench(ctx context.Context, env *testcluster.Env) (*bench, error) {
	cfg, client, err := kube.ClientsFromKubeconfig(env.Kubeconfig)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "onesbuild-feasibility-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "main")
	c := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./examples/quickstart/hello")
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := c.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the hello server: %v\n%s", err, msg)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	df, err := os.ReadFile("examples/quickstart/app/Dockerfile")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		return nil, err
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1ListOptions())
	if err != nil || len(nodes.Items) == 0 {
		return nil, fmt.Errorf("listing nodes: %v", err)
	}
	b := &bench{
		env: env, cfg: cfg, client: client, dir: dir, binary: binary, node: nodes.Items[0].Name,
		repo: env.ClusterRegistry + "/feasibility",
		reg:  &registry.Client{Hosts: map[string]string{env.ClusterRegistry: env.HostRegistry}, Insecure: []string{env.ClusterRegistry}},
	}
	b.builder = &kaniko.Executor{Client: client, Attacher: &kube.PodAttacher{Config: cfg, Client: client}}
	return b, nil
}

// once runs the flow one time and measures it.
func (b *bench) once(ctx context.Context, mode string, n int) (feasibility.Sample, error) {
	s := feasibility.Sample{Mode: mode, Run: n, Values: map[feasibility.Metric]float64{}}
	if mode == "cold" {
		if err := b.clearNode(ctx); err != nil {
			return s, err
		}
	}
	// A code change per run: the same program with a run-specific trailer.
	trailer := fmt.Sprintf("\nonesbuild-feasibility %s %d %d\n", mode, n, time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(b.dir, "main"), append(append([]byte(nil), b.binary...), trailer...), 0o755); err != nil {
		return s, err
	}
	src := buildcontext.Source{Dir: b.dir}
	req := build.Spec{
		Namespace: "default", Repository: b.repo, Tags: []string{mode},
		Source:   &src,
		Registry: build.RegistryAccess{InsecureRegistries: []string{b.env.ClusterRegistry}},
		Pod:      build.PodOptions{Image: b.env.KanikoImage, Deadline: 15 * time.Minute},
	}
	if mode == "warm" {
		req.Pod.Cache = build.Cache{Enabled: true, BaseImageClaim: b.baseImageClaim}
		req.Pod.ExtraArgs = []string{"--cache-copy-layers=true"}
	}
	var sampler *cgroupSampler
	b.builder.OnExecutorStarted = func(pod *corev1.Pod) {
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == kaniko.ContainerName && cs.ContainerID != "" {
				sampler = startSampler(ctx, pod.Spec.NodeName, cs.ContainerID[strings.Index(cs.ContainerID, "://")+3:])
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	res, err := b.builder.Build(ctx, req)
	if sampler != nil {
		peaks := sampler.wait()
		if peaks.Samples > 0 {
			s.Values[feasibility.PeakCPU] = peaks.CPUMillicores
			s.Values[feasibility.PeakMemory] = float64(peaks.MemoryBytes)
		}
	}
	if err != nil {
		return s, err
	}
	s.Digest = res.Digest
	for phase, d := range res.Timings {
		s.Values[feasibility.Metric(phase)] = d.Seconds()
	}
	runRes, err := kube.RunUntilLines(ctx, b.client, "default", b.env.NodeRegistry+"/feasibility@"+res.Digest, []string{"Hello World", "Server started on port 8081"})
	if err != nil {
		return s, err
	}
	s.Values[feasibility.RunFirstLog] = runRes.FirstLine.Seconds()
	s.Values[feasibility.EndToEnd] = res.Timings[build.PhaseTotal].Seconds() + runRes.FirstLine.Seconds()
	img, err := b.reg.Describe(ctx, b.repo, res.Digest)
	if err != nil {
		return s, err
	}
	s.Values[feasibility.ImageSize] = float64(img.Size)
	return s, nil
}

// clearNode removes the executor image, the study's base image and every
// earlier build from the node's container runtime, by every reference
// (names and the runtime's own ID references), so containerd collects
// their layers and the next run pulls them again.
func (b *bench) clearNode(ctx context.Context) error {
	list, err := exec.CommandContext(ctx, "docker", "exec", b.node, "ctr", "-n", "k8s.io", "images", "ls").Output()
	if err != nil {
		return fmt.Errorf("listing node images: %w", err)
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
		if strings.Contains(f[0], "kaniko-project/executor") || strings.Contains(f[0], "/feasibility") || strings.Contains(f[0], "/"+testcluster.StudyBaseImage) {
			targets[f[2]] = true
		}
	}
	var remove []string
	for _, r := range rows {
		if targets[r.digest] {
			remove = append(remove, r.ref)
		}
	}
	if len(remove) == 0 {
		return nil
	}
	args := append([]string{"exec", b.node, "ctr", "-n", "k8s.io", "images", "rm", "--sync"}, remove...)
	if msg, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("removing node images: %v: %s", err, msg)
	}
	return nil
}

// baseCacheName names the volume, claim and storage class of the warm
// mode's base image cache.
const baseCacheName = "onesbuild-feasibility-base-cache"

// prepareBaseImageCache fills a PersistentVolumeClaim with the study's
// base image using Kaniko's warmer, as a production setup would, so warm
// builds read the base from it. kind has no volume provisioner offline, so
// the volume is a hostPath on the node.
func (b *bench) prepareBaseImageCache(ctx context.Context) (string, error) {
	core := b.client.CoreV1()
	size := resource.MustParse("2Gi")
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: baseCacheName},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              baseCacheName,
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: "/var/cache/" + baseCacheName, Type: ptr(corev1.HostPathDirectoryOrCreate),
			}},
		},
	}
	if _, err := core.PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating the cache volume: %w", err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: baseCacheName, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr(baseCacheName),
			VolumeName:       baseCacheName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	if _, err := core.PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating the cache claim: %w", err)
	}
	warmer := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "onesbuild-feasibility-warmer-", Namespace: "default"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "warmer", Image: b.env.KanikoImage,
				Command: []string{"/kaniko/warmer", "--cache-dir=/cache", "--force", "--image=" + b.env.BaseImage,
					"--insecure-registry=" + b.env.ClusterRegistry, "--insecure-pull"},
				VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: "/cache"}},
			}},
			Volumes: []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: baseCacheName},
			}}},
		},
	}
	warmer, err := core.Pods("default").Create(ctx, warmer, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("starting Kaniko's warmer: %w", err)
	}
	defer core.Pods("default").Delete(context.WithoutCancel(ctx), warmer.Name, metav1.DeleteOptions{})
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		p, err := core.Pods("default").Get(ctx, warmer.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			return baseCacheName, nil
		case corev1.PodFailed:
			logs, _ := core.Pods("default").GetLogs(warmer.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
			return "", fmt.Errorf("Kaniko's warmer failed: %s", logs)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return "", fmt.Errorf("Kaniko's warmer did not finish in 3 minutes")
}

// removeBaseImageCache deletes the claim and the volume.
func (b *bench) removeBaseImageCache(ctx context.Context) {
	_ = b.client.CoreV1().PersistentVolumeClaims("default").Delete(ctx, baseCacheName, metav1.DeleteOptions{})
	_ = b.client.CoreV1().PersistentVolumes().Delete(ctx, baseCacheName, metav1.DeleteOptions{})
}

func ptr[T any](v T) *T { return &v }

func (b *bench) environment(ctx context.Context) feasibility.Environment {
	host, _ := os.Hostname()
	env := feasibility.Environment{
		Date: time.Now(), Host: host, CPUs: runtime.NumCPU(), Nodes: 1,
		Versions: map[string]string{
			"kubernetes": testcluster.KubernetesVersion, "kaniko": testcluster.KanikoVersion, "kind": testcluster.KindVersion,
			"go": runtime.Version(),
		},
		BaseImage:         testcluster.StudyBaseImage,
		ExecutorResources: map[string]string{},
		Notes: []string{
			"Phases come from the build engine the provider uses: the local clock for executor start, context upload and totals; Kaniko's timestamped log for base image pull, build and push.",
			"Peak CPU and memory are read from the executor container's cgroup on the node every 100 ms; CPU is the highest rate over one interval, memory includes page cache.",
			"Cold: executor image, base image and earlier builds removed from the node, no Kaniko cache. Warm: executor and earlier layers on the node, Kaniko's registry layer cache filled, and the base image read from a volume filled by Kaniko's warmer (cache { base_image_claim }); the warm executor start includes mounting that volume.",
			"Each run changes the application binary, as a code change would, so the COPY layer is new every time; the registry runs on the same host as the cluster.",
		},
	}
	for name, q := range build.DefaultResources.Requests {
		env.ExecutorResources["requests."+string(name)] = q.String()
	}
	for name, q := range build.DefaultResources.Limits {
		env.ExecutorResources["limits."+string(name)] = q.String()
	}
	if v, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Output(); err == nil {
		env.Versions["docker"] = strings.TrimSpace(string(v))
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				env.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if v, err := exec.CommandContext(ctx, "uname", "-r").Output(); err == nil {
		env.Kernel = strings.TrimSpace(string(v))
	}
	if nodes, err := b.client.CoreV1().Nodes().List(ctx, metav1ListOptions()); err == nil {
		env.Nodes = len(nodes.Items)
	}
	if img, err := b.reg.Describe(ctx, b.env.ClusterRegistry+"/ones/plugin-host-node", mustDigest(ctx, b.reg, b.env.ClusterRegistry+"/ones/plugin-host-node", "v6.33.1")); err == nil {
		env.BaseImageBytes = img.Size
	}
	return env
}

func mustDigest(ctx context.Context, reg *registry.Client, repo, tag string) string {
	d, err := reg.ResolveTag(ctx, repo, tag)
	if err != nil {
		return ""
	}
	return d
}

// cgroupSampler follows one container's cgroup on a kind node.
type cgroupSampler struct {
	out  bytes.Buffer
	done chan struct{}
	mu   sync.Mutex
}

func startSampler(ctx context.Context, node, containerID string) *cgroupSampler {
	s := &cgroupSampler{done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, "docker", "exec", node, "sh", "-c", feasibility.CgroupSampler, "sampler", containerID)
	cmd.Stdout = &s.out
	go func() {
		defer close(s.done)
		_ = cmd.Run()
	}()
	return s
}

func (s *cgroupSampler) wait() feasibility.Peaks {
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
	return feasibility.ParseCgroupSamples(bytes.NewReader(s.out.Bytes()))
}

func metav1ListOptions() metav1.ListOptions { return metav1.ListOptions{} }
