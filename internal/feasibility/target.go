package feasibility

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// Target is the cluster and registry a benchmark runs against: the
// harness's kind cluster, or any cluster a kubeconfig reaches.
type Target struct {
	// Kubeconfig and Context select the cluster ("" for the current
	// context).
	Kubeconfig, Context string
	// Namespace is where build and run pods go.
	Namespace string
	// ClusterRegistry is the registry as pods (Kaniko) see it, host[:port];
	// NodeRegistry as the kubelet pulls from it (often the same).
	ClusterRegistry, NodeRegistry string
	// HostRegistry is the same registry as this machine reaches it;
	// RegistryService ("namespace/service[:port]") reaches it through a
	// port-forward instead. With neither, direct builds and the floor are
	// not measured.
	HostRegistry, RegistryService string
	// Insecure speaks plain HTTP to the registry.
	Insecure bool
	// BaseImage is the study's base image as pods name it; KanikoImage
	// the executor.
	BaseImage, KanikoImage string
	// ContextDir is the user's own context, built instead of the study's
	// hello server; Dockerfile is its path inside ContextDir.
	ContextDir, Dockerfile string
	// StudyBinary is the hello server, linux, for the study's context;
	// StudyBinaries the same for each architecture of the two-platform
	// builds (amd64, arm64).
	StudyBinary   []byte
	StudyBinaries map[string][]byte
	// BaseImageMulti is the study's base image as an index of
	// linux/amd64 and linux/arm64; without it the two-platform builds
	// are not measured.
	BaseImageMulti string
	// StudyDockerfile is the study's Dockerfile.
	StudyDockerfile string
	// Harness, when set, is the harness's kind cluster, whose nodes are
	// Docker containers: cold runs clear the nodes' images and peaks are
	// read from the container's cgroup every 100 ms.
	Harness *HarnessNodes
	// Terraform is the CLI for the apply scenarios, ProviderBinary the
	// provider to install through dev_overrides; without both, the
	// apply scenarios are not measured.
	Terraform, ProviderBinary string
	// Versions are extra version strings for the report (kind, ...).
	Versions map[string]string
}

// HarnessNodes is node access the harness has and real clusters do not.
type HarnessNodes struct {
	// Exec runs a command on a node (docker exec).
	Exec func(ctx context.Context, node string, args ...string) ([]byte, error)
}

// connection is a Target resolved into clients.
type connection struct {
	cfg    *rest.Config
	client kubernetes.Interface
	reg    *registry.Client
	// hostReachable is false when no address of the registry from this
	// machine is known.
	hostReachable bool
	forward       *kube.ServiceForward
}

func (t Target) connect() (*connection, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: t.Kubeconfig}
	if t.Kubeconfig == "" {
		rules = clientcmd.NewDefaultClientConfigLoadingRules()
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: t.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := &connection{cfg: cfg, client: client, reg: &registry.Client{Hosts: map[string]string{}}}
	if t.Insecure {
		c.reg.Insecure = []string{t.ClusterRegistry}
	}
	switch {
	case t.HostRegistry != "":
		if t.HostRegistry != t.ClusterRegistry {
			c.reg.Hosts[t.ClusterRegistry] = t.HostRegistry
		}
		c.hostReachable = true
	case t.RegistryService != "":
		ns, rest, _ := strings.Cut(t.RegistryService, "/")
		svc, portStr, hasPort := strings.Cut(rest, ":")
		if !hasPort {
			_, portStr, _ = strings.Cut(t.ClusterRegistry, ":")
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			return nil, fmt.Errorf("registry service %q: no port", t.RegistryService)
		}
		c.forward = &kube.ServiceForward{Config: cfg, Client: client, Namespace: ns, Service: svc, Port: port}
		c.reg.Forwards = map[string]registry.Forwarder{t.ClusterRegistry: c.forward}
		c.hostReachable = true
	}
	return c, nil
}

// environment records what the run happened on: this machine, the
// cluster (version, nodes and their sizes), the registry's round trip
// from a pod, and the base image.
func (t Target) environment(ctx context.Context, c *connection, log io.Writer) Environment {
	host, _ := os.Hostname()
	env := Environment{
		Date: time.Now(), Host: host, CPUs: runtime.NumCPU(), Versions: map[string]string{"go": runtime.Version()},
		BaseImage: t.BaseImage, ExecutorImage: t.KanikoImage, Registry: t.ClusterRegistry, Harness: t.Harness != nil,
	}
	for k, v := range t.Versions {
		env.Versions[k] = v
	}
	if v, err := c.client.Discovery().ServerVersion(); err == nil {
		env.Versions["kubernetes"] = v.GitVersion
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				env.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if nodes, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		for _, n := range nodes.Items {
			cpu, mem := n.Status.Allocatable[corev1.ResourceCPU], n.Status.Allocatable[corev1.ResourceMemory]
			env.NodeList = append(env.NodeList, NodeInfo{
				Name: n.Name, CPU: cpu.String(), Memory: fmt.Sprintf("%.1f GiB", float64(mem.Value())/(1<<30)),
				Arch: n.Status.NodeInfo.Architecture, Kernel: n.Status.NodeInfo.KernelVersion, Runtime: n.Status.NodeInfo.ContainerRuntimeVersion,
			})
		}
		sort.Slice(env.NodeList, func(i, j int) bool { return env.NodeList[i].Name < env.NodeList[j].Name })
	} else {
		fmt.Fprintf(log, "nodes not listed (%v); node sizes are not in the report\n", err)
	}
	env.Nodes = len(env.NodeList)
	if c.hostReachable {
		if img, err := describeRef(ctx, c.reg, t.BaseImage); err == nil {
			env.BaseImageBytes = img.Size
		}
	}
	env.RegistryRTT = t.registryRTT(ctx, c, log)
	return env
}

// describeRef reads an image by tag or digest.
func describeRef(ctx context.Context, reg *registry.Client, ref string) (*registry.Image, error) {
	repo, tag := splitRef(ref)
	digest := tag
	if !strings.HasPrefix(tag, "sha256:") {
		d, err := reg.ResolveTag(ctx, repo, tag)
		if err != nil {
			return nil, err
		}
		digest = d
	}
	return reg.Describe(ctx, repo, digest)
}

// splitRef splits repository:tag or repository@digest.
func splitRef(ref string) (repo, tagOrDigest string) {
	if r, d, ok := strings.Cut(ref, "@"); ok {
		return r, d
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// registryRTT times requests to the registry's /v2/ from a pod, with the
// executor image's busybox: twenty requests, each on a new connection,
// timed together from /proc/uptime (busybox's date has no sub-second
// format). "" when that image has no shell.
func (t Target) registryRTT(ctx context.Context, c *connection, log io.Writer) string {
	scheme := "https"
	if t.Insecure {
		scheme = "http"
	}
	const n = 20
	host, port, found := strings.Cut(t.ClusterRegistry, ":")
	if !found {
		port = map[bool]string{true: "80", false: "443"}[t.Insecure]
	}
	// A static busybox cannot resolve names through the C library, so
	// the address comes from busybox's own nslookup first. (Its wget
	// crashes with -T, so the pod's own timeout bounds the requests.)
	script := fmt.Sprintf(`h=%[1]s
case "$h" in *[!0-9.]*) h=$(nslookup "$h" 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}');; esac
[ -n "$h" ] || exit 4
u=%[2]s://$h:%[3]s/v2/
wget -q -O /dev/null "$u" || exit 3
s=$(cut -d' ' -f1 /proc/uptime)
i=0; while [ $i -lt %[4]d ]; do wget -q -O /dev/null "$u" || exit 3; i=$((i+1)); done
e=$(cut -d' ' -f1 /proc/uptime)
echo "$s $e"`, host, scheme, port, n)
	out, err := kube.RunToCompletion(ctx, c.client, t.Namespace, t.KanikoImage, []string{"/busybox/sh", "-c", script}, 2*time.Minute)
	if err != nil {
		fmt.Fprintf(log, "registry round trip not measured: %v\n", err)
		return ""
	}
	var start, end float64
	if _, err := fmt.Sscan(out, &start, &end); err != nil || end < start {
		fmt.Fprintf(log, "registry round trip not measured: unexpected output %q\n", out)
		return ""
	}
	return fmt.Sprintf("%.1f ms per HTTP request to /v2/, each on a new connection (mean of %d, timed to 10 ms in all)", (end-start)*1000/n, n)
}

// writeContext writes a context directory: the user's own, copied, or
// the study's hello server with a run-specific trailer, as a code change
// would make it.
// TwoPlatforms are the platforms of the two-platform scenarios.
var TwoPlatforms = []string{"linux/amd64", "linux/arm64"}

// writeTwoPlatformContext writes the study's context for TwoPlatforms:
// each binary under bin/<arch>/main, copied by COPY bin/${TARGETARCH}.
func (t Target) writeTwoPlatformContext(dir, nonce string) error {
	for arch, bin := range t.StudyBinaries {
		p := filepath.Join(dir, "bin", arch, "main")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, append(append([]byte(nil), bin...), []byte("\nonesbuild-feasibility "+nonce+"\n")...), 0o755); err != nil {
			return err
		}
	}
	df := "FROM " + t.BaseImageMulti + "\nARG TARGETARCH\nWORKDIR /usr/local/app\nCOPY bin/${TARGETARCH}/main /usr/local/app/main\nENTRYPOINT [\"/usr/local/app/main\"]\n"
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
}

func (t Target) writeContext(dir, nonce string) error {
	if t.ContextDir != "" {
		return exec.Command("cp", "-a", t.ContextDir+"/.", dir).Run()
	}
	bin := append(append([]byte(nil), t.StudyBinary...), []byte("\nonesbuild-feasibility "+nonce+"\n")...)
	if err := os.WriteFile(filepath.Join(dir, "main"), bin, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(t.StudyDockerfile), 0o644)
}
