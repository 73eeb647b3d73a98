package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/feasibility"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// TestAccFeasibility_anyCluster runs the benchmark's any-cluster mode as a
// user would against their cluster: the harness's kubeconfig and
// registry given as flags, nothing else of the harness (no docker exec,
// no node access). It checks the three outputs, that every phase was
// measured, and that nothing is left in the cluster or the registry.
func TestAccFeasibility_anyCluster(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 and bring the cluster up (make testacc does both)")
	}
	// What a user knows of their cluster; here, the harness publishes it.
	data, err := os.ReadFile(filepath.Join(os.Getenv("HOME"), ".cache/onesbuild/state/onesbuild/env.json"))
	if p := os.Getenv("ONESBUILD_CACHE"); p != "" {
		data, err = os.ReadFile(filepath.Join(p, "state/onesbuild/env.json"))
	}
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Kubeconfig      string `json:"kubeconfig"`
		HostRegistry    string `json:"host_registry"`
		ClusterRegistry string `json:"cluster_registry"`
		NodeRegistry    string `json:"node_registry"`
		KanikoImage     string `json:"kaniko_image"`
		BaseImage       string `json:"base_image"`
		BaseImageMulti  string `json:"base_image_multi"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	ns := fmt.Sprintf("feasibility-%d", time.Now().UnixNano()%1_000_000)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./scripts/feasibility",
		"-kubeconfig", env.Kubeconfig, "-namespace", ns,
		"-registry", env.ClusterRegistry, "-node-registry", env.NodeRegistry, "-registry-from-host", env.HostRegistry, "-insecure",
		"-base-image", env.BaseImage, "-base-image-multi", env.BaseImageMulti, "-executor-image", env.KanikoImage,
		"-runs", "1", "-monorepo", "6,2,2", "-cleanup", "-out", out)
	cmd.Dir = "../.."
	cmd.Env = os.Environ()
	logs, err := cmd.CombinedOutput()
	t.Logf("benchmark output:\n%s", logs)
	if err != nil {
		t.Fatalf("the benchmark failed: %v", err)
	}
	for _, f := range []string{"feasibility-report.md", "feasibility.json", "feasibility.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(out, "feasibility.json"))
	var report feasibility.Report
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatal(err)
	}
	if report.Environment.Harness {
		t.Error("the any-cluster run used the harness's node access")
	}
	if len(report.Skipped) > 0 {
		t.Errorf("scenarios not measured: %v", report.Skipped)
	}
	phases := map[string][]feasibility.Metric{
		feasibility.KanikoCold:  {feasibility.ExecutorStart, feasibility.ContextUpload, feasibility.BaseImagePull, feasibility.Build, feasibility.Push, feasibility.BuildTotal, feasibility.RunFirstLog, feasibility.ImageSize},
		feasibility.KanikoWarm:  {feasibility.ExecutorStart, feasibility.BaseImagePull, feasibility.Build, feasibility.Push, feasibility.BuildTotal, feasibility.RunFirstLog},
		feasibility.Direct:      {feasibility.BaseImagePull, feasibility.Build, feasibility.Push, feasibility.BuildTotal, feasibility.RunFirstLog, feasibility.ImageSize},
		feasibility.Floor:       {feasibility.Build, feasibility.Push, feasibility.BuildTotal},
		feasibility.ApplyDirect: {feasibility.Apply}, feasibility.ApplyKaniko: {feasibility.Apply}, feasibility.ApplyDirectTen: {feasibility.Apply},
		feasibility.WorkloadCold: {feasibility.Build, feasibility.BuildTotal}, feasibility.WorkloadCached: {feasibility.BuildTotal}, feasibility.WorkloadLate: {feasibility.BuildTotal},
		feasibility.ParallelKaniko:     {feasibility.BuildTotal},
		feasibility.DirectTwoPlatforms: {feasibility.BuildTotal}, feasibility.KanikoTwoPlatforms: {feasibility.BuildTotal},
		feasibility.DirectAttested: {feasibility.BuildTotal, feasibility.Attach},
	}
	for _, step := range feasibility.MonorepoSteps {
		phases[step] = []feasibility.Metric{feasibility.Apply, feasibility.CPUBusy}
	}
	for _, s := range report.Samples {
		if strings.HasPrefix(s.Mode, feasibility.Monorepo) && s.Error != "" {
			t.Errorf("%s run %d failed: %s", s.Mode, s.Run, s.Error)
		}
	}
	for mode, metrics := range phases {
		for _, m := range metrics {
			if st := report.Summarize(mode, m); st.N == 0 {
				t.Errorf("%s: %s not measured", mode, m)
			}
		}
	}
	if report.Environment.RegistryRTT == "" || len(report.Environment.NodeList) == 0 || report.Environment.BaseImageBytes == 0 {
		t.Errorf("environment incomplete: %+v", report.Environment)
	}
	md, _ := os.ReadFile(filepath.Join(out, "feasibility-report.md"))
	for _, want := range []string{"## The study's flow", "## Targets", "## terraform apply", "## Kaniko on work only Kaniko can do", "## A monorepo in one configuration", "against any cluster"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Nothing left behind: no pods, and with -cleanup none of the
	// images the run pushed.
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("pods left in %s: %d (%v)", ns, len(pods.Items), err)
	}
	reg := &registry.Client{Hosts: map[string]string{env.ClusterRegistry: env.HostRegistry}, Insecure: []string{env.ClusterRegistry}}
	for _, s := range report.Samples {
		if s.Digest == "" || s.Error != "" {
			continue
		}
		repo := feasibility.Repository(env.ClusterRegistry, s.Mode)
		if _, err := reg.Size(ctx, repo, s.Digest); err == nil {
			t.Errorf("%s@%s still in the registry after -cleanup", repo, s.Digest)
		}
	}
}
