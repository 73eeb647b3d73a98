// Command feasibility reruns the feasibility study's flow (build the
// study's image, push it, pull and run it until it logs) and the
// scenarios that put it in context (Kaniko cold and warm, the direct
// executor, the floor of a bare layer append, terraform apply, a RUN
// workload with Kaniko's cache, parallel builds across nodes), and
// writes feasibility-report.md, feasibility.json and feasibility.svg.
//
// Without -registry it runs against the harness's kind cluster (make
// feasibility). With -registry it runs against any cluster a kubeconfig
// reaches, using only the Kubernetes API: see README.md, "The feasibility
// study on your own cluster". The measuring lives in
// internal/feasibility; this command only reads flags and writes files.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/feasibility"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/testcluster"
)

func main() {
	var (
		runs      = flag.Int("runs", 5, "measured runs per scenario")
		out       = flag.String("out", "feasibility/out", "directory for the report, the JSON and the chart")
		scenarios = flag.String("scenarios", "", "comma-separated scenarios to run (default: all): "+strings.Join(feasibility.AllScenarios, ", "))
		cleanup   = flag.Bool("cleanup", false, "delete every image the run pushed once the report is written")
		monorepo  = flag.String("monorepo", "100,20,4", "the monorepo scenario: direct services, Kaniko services, max_concurrent_builds")

		kubeconfig   = flag.String("kubeconfig", "", "kubeconfig of your cluster (default: KUBECONFIG or ~/.kube/config); any-cluster mode needs -registry")
		kubeContext  = flag.String("context", "", "kubeconfig context (default: the current one)")
		namespace    = flag.String("namespace", "default", "namespace for build and run pods")
		reg          = flag.String("registry", "", "the registry as pods see it, host[:port]; setting it selects any-cluster mode")
		nodeReg      = flag.String("node-registry", "", "the registry as the kubelet pulls from it (default: -registry)")
		hostReg      = flag.String("registry-from-host", "", "the registry as this machine reaches it (for direct builds, the floor and image sizes)")
		regService   = flag.String("registry-service", "", "reach the registry through a port-forward to this Service instead: namespace/service[:port]")
		insecure     = flag.Bool("insecure", false, "the registry speaks plain HTTP")
		baseImage    = flag.String("base-image", "", "the study's base image as pods name it")
		baseMulti    = flag.String("base-image-multi", "", "the study's base image as an index of linux/amd64 and linux/arm64, for the two-platform builds")
		kanikoImage  = flag.String("executor-image", build.DefaultKanikoImage, "the Kaniko executor image (a -debug variant also measures the registry's round trip)")
		contextDir   = flag.String("context-dir", "", "build your own context instead of the study's hello server")
		dockerfile   = flag.String("dockerfile", "Dockerfile", "Dockerfile path inside -context-dir")
		terraformCLI = flag.String("terraform", "", "Terraform or OpenTofu CLI for the apply scenarios (default: TF_ACC_TERRAFORM_PATH, terraform or tofu on PATH)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t := feasibility.Target{
		Kubeconfig: *kubeconfig, Context: *kubeContext, Namespace: *namespace,
		ClusterRegistry: *reg, NodeRegistry: *nodeReg, HostRegistry: *hostReg, RegistryService: *regService, Insecure: *insecure,
		BaseImage: *baseImage, BaseImageMulti: *baseMulti, KanikoImage: *kanikoImage, ContextDir: *contextDir, Terraform: *terraformCLI,
	}
	if *contextDir != "" {
		t.Dockerfile = *dockerfile
	}
	size, err := parseMonorepo(*monorepo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "feasibility: -monorepo:", err)
		os.Exit(2)
	}
	if err := run(ctx, t, *runs, *out, *scenarios, *cleanup, size); err != nil {
		fmt.Fprintln(os.Stderr, "feasibility:", err)
		os.Exit(1)
	}
}

// parseMonorepo reads "direct,kaniko,max_concurrent_builds".
func parseMonorepo(s string) (feasibility.MonorepoSize, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return feasibility.MonorepoSize{}, fmt.Errorf("%q: want three numbers, direct,kaniko,max_concurrent_builds", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 || i == 2 && v < 1 {
			return feasibility.MonorepoSize{}, fmt.Errorf("%q: %q is not a count", s, p)
		}
		n[i] = v
	}
	return feasibility.MonorepoSize{Direct: n[0], Kaniko: n[1], MaxConcurrent: n[2]}, nil
}

func run(ctx context.Context, t feasibility.Target, runs int, out, scenarios string, cleanup bool, monorepo feasibility.MonorepoSize) error {
	work, err := os.MkdirTemp("", "onesbuild-feasibility-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if t.ClusterRegistry == "" {
		if err := harnessTarget(&t); err != nil {
			return err
		}
	} else {
		if t.BaseImage == "" {
			return fmt.Errorf("-registry needs -base-image too")
		}
		if t.NodeRegistry == "" {
			t.NodeRegistry = t.ClusterRegistry
		}
	}
	if t.Kubeconfig != "" {
		if abs, err := filepath.Abs(t.Kubeconfig); err == nil {
			t.Kubeconfig = abs
		}
	}
	fmt.Fprintln(os.Stderr, "building the hello server and the provider")
	hello := filepath.Join(work, "main")
	c := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", hello, "./examples/quickstart/hello")
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("building the hello server: %v\n%s", err, msg)
	}
	if t.StudyBinary, err = os.ReadFile(hello); err != nil {
		return err
	}
	t.StudyBinaries = map[string][]byte{}
	for _, platform := range feasibility.TwoPlatforms {
		arch := platform[strings.LastIndex(platform, "/")+1:]
		out := filepath.Join(work, "main-"+arch)
		c := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./examples/quickstart/hello")
		c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if msg, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("building the hello server for %s: %v\n%s", platform, err, msg)
		}
		if t.StudyBinaries[arch], err = os.ReadFile(out); err != nil {
			return err
		}
	}
	df, err := os.ReadFile("examples/quickstart/app/Dockerfile")
	if err != nil {
		return err
	}
	// The study's Dockerfile, on the target's base image.
	lines := strings.SplitN(string(df), "\n", 2)
	t.StudyDockerfile = "FROM " + t.BaseImage + "\n" + lines[1]
	t.ProviderBinary = filepath.Join(work, "plugins", "terraform-provider-onesbuild")
	if msg, err := exec.CommandContext(ctx, "go", "build", "-o", t.ProviderBinary, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("building the provider: %v\n%s", err, msg)
	}
	if t.Terraform == "" {
		t.Terraform = os.Getenv("TF_ACC_TERRAFORM_PATH")
	}
	for _, name := range []string{"terraform", "tofu"} {
		if t.Terraform == "" {
			t.Terraform, _ = exec.LookPath(name)
		}
	}
	if t.Versions == nil {
		t.Versions = map[string]string{}
	}
	if t.Terraform != "" {
		if v, err := exec.CommandContext(ctx, t.Terraform, "version").Output(); err == nil {
			t.Versions[filepath.Base(t.Terraform)] = strings.TrimSpace(strings.SplitN(string(v), "\n", 2)[0])
		}
	}
	var list []string
	if scenarios != "" {
		list = strings.Split(scenarios, ",")
	}
	report, err := feasibility.Run(ctx, t, feasibility.Options{Runs: runs, Scenarios: list, Cleanup: cleanup, Log: os.Stderr, Monorepo: monorepo})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	data, err := report.JSON()
	if err != nil {
		return err
	}
	for name, content := range map[string][]byte{
		"feasibility-report.md": []byte(report.Markdown()),
		"feasibility.json":      data,
		"feasibility.svg":       []byte(report.SVG()),
	} {
		if err := os.WriteFile(filepath.Join(out, name), content, 0o644); err != nil {
			return err
		}
	}
	fmt.Println(report.Markdown())
	fmt.Printf("Written: %s/{feasibility-report.md,feasibility.json,feasibility.svg}\n", out)
	return nil
}

// harnessTarget points the run at the harness's cluster, with node access
// through docker exec.
func harnessTarget(t *feasibility.Target) error {
	h := testcluster.New(testcluster.OptionsFromEnv(os.Stderr))
	env, err := testcluster.LoadEnv(h.EnvPath())
	if err != nil {
		return err
	}
	t.Kubeconfig, t.ClusterRegistry, t.NodeRegistry, t.HostRegistry = env.Kubeconfig, env.ClusterRegistry, env.NodeRegistry, env.HostRegistry
	t.Insecure, t.BaseImage, t.BaseImageMulti, t.KanikoImage = true, env.BaseImage, env.BaseImageMulti, env.KanikoImage
	t.Versions = map[string]string{"kaniko": testcluster.KanikoVersion, "kind": testcluster.KindVersion}
	if v, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output(); err == nil {
		t.Versions["docker"] = strings.TrimSpace(string(v))
	}
	t.Harness = &feasibility.HarnessNodes{Exec: func(ctx context.Context, node string, args ...string) ([]byte, error) {
		return exec.CommandContext(ctx, "docker", append([]string{"exec", node}, args...)...).CombinedOutput()
	}}
	return nil
}
