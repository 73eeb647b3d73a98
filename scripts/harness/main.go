// Command harness brings the test environment up and down: a kind
// cluster, a local registry and every image they need, built from source
// when no registry can provide them. make cluster-up and make
// cluster-down call it.
//
// Usage:
//
//	go run ./scripts/harness up        create or reuse everything, print where it is
//	go run ./scripts/harness down      delete the cluster (the registry and its data stay)
//	go run ./scripts/harness down-all  delete the cluster, the registry and its data
//	go run ./scripts/harness env       print the environment of a running cluster
//	go run ./scripts/harness terraform print the Terraform CLI the tests use
//	go run ./scripts/harness run IMAGE LINE...
//	                                   run IMAGE in the cluster until its log shows every LINE
//
// Environment: ONESBUILD_CLUSTER, ONESBUILD_REGISTRY_PORT,
// ONESBUILD_IMAGE_MIRROR, ONESBUILD_OFFLINE, ONESBUILD_CACHE,
// ONESBUILD_DEBIAN_MIRROR.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/testcluster"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: harness up|down|down-all|env|terraform|run IMAGE LINE...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := testcluster.New(testcluster.OptionsFromEnv(os.Stderr))
	if err := run(ctx, h, os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "harness %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func run(ctx context.Context, h *testcluster.Harness, verb string, args []string) error {
	switch verb {
	case "run":
		if len(args) < 1 {
			return fmt.Errorf("usage: harness run IMAGE LINE...")
		}
		env, err := testcluster.LoadEnv(h.EnvPath())
		if err != nil {
			return err
		}
		_, client, err := kube.ClientsFromKubeconfig(env.Kubeconfig)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		res, err := kube.RunUntilLines(ctx, client, "default", args[0], args[1:])
		if err != nil {
			return err
		}
		fmt.Printf("pod %s ran %s: container running after %s, first log line after %s\n", res.Pod, args[0],
			res.Running.Round(time.Millisecond), res.FirstLine.Round(time.Millisecond))
		for _, l := range res.Lines {
			fmt.Println("  | " + l)
		}
	case "up":
		env, err := h.Up(ctx)
		if err != nil {
			return err
		}
		printEnv(env, h.EnvPath())
	case "down":
		return h.Down(ctx)
	case "down-all":
		return h.DownAll(ctx)
	case "env":
		env, err := testcluster.LoadEnv(h.EnvPath())
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(env)
	case "terraform":
		which := ""
		if len(args) > 0 {
			which = args[0]
		}
		cli, err := h.TerraformCLIOf(ctx, which)
		if err != nil {
			return err
		}
		for k, v := range cli.Env() {
			fmt.Printf("export %s=%q\n", k, v)
		}
	default:
		return fmt.Errorf("unknown command %q", verb)
	}
	return nil
}

func printEnv(env *testcluster.Env, path string) {
	fmt.Printf(`
Cluster %s (Kubernetes %s) is up.
  kubeconfig:                 %s
      export KUBECONFIG=%s
  registry from this host:    %s
  registry from pods:         %s   (Kaniko pushes here)
  registry from the kubelet:  %s
  Kaniko executor image:      %s
  study base image:           %s
      linux/amd64 + arm64:    %s
  node image:                 %s
  all of the above as JSON:   %s
`, env.ClusterName, env.KubernetesVersion, env.Kubeconfig, env.Kubeconfig, env.HostRegistry, env.ClusterRegistry,
		env.NodeRegistry, env.KanikoImage, env.BaseImage, env.BaseImageMulti, env.NodeImage, path)
}
