package testcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// TestHarnessBuildPushPullRun proves the environment end to end: a real
// Kaniko pod builds (running a RUN step in the study's base image) and
// pushes to registry.kube-system.svc.cluster.local:5000, and a pod using
// localhost:5000/<image>@<digest> is pulled by the node and runs.
// It needs Docker and runs with TF_ACC=1 or ONESBUILD_HARNESS=1.
func TestHarnessBuildPushPullRun(t *testing.T) {
	requireCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Minute)
	defer cancel()
	h := New(OptionsFromEnv(testWriter{t}))
	env, err := h.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, client := clientsOf(t, env)
	src := buildcontext.Source{
		Files:            map[string]string{"message": "harness-ok\n"},
		DockerfileInline: "FROM " + env.BaseImage + "\nCOPY message /message\nRUN cat /message > /from-run.txt\nCMD [\"cat\", \"/from-run.txt\"]\n",
	}
	b := &kaniko.Executor{Client: client, Attacher: &kube.PodAttacher{Config: cfg, Client: client}, Log: testLogger{t}}
	res, err := build.SnapshotContext{Next: b}.Build(ctx, build.Spec{
		Namespace:  "default",
		Repository: env.ClusterRegistry + "/harness-check",
		Tags:       []string{"latest"},
		Context:    build.Context{Source: &src},
		Registry:   build.RegistryAccess{InsecureRegistries: []string{env.ClusterRegistry}},
		Pod:        build.PodOptions{Image: env.KanikoImage, Deadline: 10 * time.Minute},
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Logf("built %s in %v", res.Digest, res.Timings)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "harness-check-", Namespace: "default"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "check", Image: env.NodeRegistry + "/harness-check@" + res.Digest}},
		},
	}
	pod, err = client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CoreV1().Pods("default").Delete(context.WithoutCancel(ctx), pod.Name, metav1.DeleteOptions{})
	phase := waitPodDone(ctx, t, client, pod.Name)
	logs, err := client.CoreV1().Pods("default").GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if phase != corev1.PodSucceeded || strings.TrimSpace(string(logs)) != "harness-ok" {
		t.Fatalf("pod from the built image ended %s with log %q, want Succeeded and harness-ok", phase, logs)
	}
}

// requireCluster skips unless the run may use Docker and a kind cluster.
func requireCluster(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" && os.Getenv("ONESBUILD_HARNESS") == "" {
		t.Skip("needs Docker and a kind cluster: set TF_ACC=1 or ONESBUILD_HARNESS=1 (make testacc)")
	}
}

func clientsOf(t *testing.T, env *Env) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	cfg, client, err := kube.ClientsFromKubeconfig(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, client
}

func waitPodDone(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) corev1.PodPhase {
	t.Helper()
	var phase corev1.PodPhase
	// No limit but ctx: the test's own deadline bounds the wait.
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = p.Status.Phase
		if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
			return true, nil
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				return false, fmt.Errorf("the node could not pull the built image: %s", w.Message)
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return phase
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	s := bufio.NewScanner(strings.NewReader(string(p)))
	for s.Scan() {
		w.t.Log(s.Text())
	}
	return len(p), nil
}

type testLogger struct{ t *testing.T }

func (l testLogger) Step(msg string, kv ...any) { l.t.Log(append([]any{msg}, kv...)...) }
func (l testLogger) Output(line string)         { l.t.Log("kaniko: " + line) }

// TestHarnessCancelledBuildLeavesNoPod cancels a real build while Kaniko
// runs, as Ctrl-C in terraform apply does, and checks the pod is gone.
func TestHarnessCancelledBuildLeavesNoPod(t *testing.T) {
	requireCluster(t)
	env, err := LoadEnv(New(OptionsFromEnv(io.Discard)).EnvPath())
	if err != nil {
		t.Fatal(err)
	}
	cfg, client := clientsOf(t, env)
	src := buildcontext.Source{Files: map[string]string{"x": "y"}, DockerfileInline: "FROM " + env.BaseImage + "\nRUN sleep 120\n"}
	ctx, cancel := context.WithCancel(context.Background())
	b := &kaniko.Executor{Client: client, Attacher: &kube.PodAttacher{Config: cfg, Client: client}, Log: testLogger{t},
		OnExecutorStarted: func(*corev1.Pod) { time.AfterFunc(2*time.Second, cancel) }}
	start := time.Now()
	res, err := build.SnapshotContext{Next: b}.Build(ctx, build.Spec{
		Namespace: "default", Repository: env.ClusterRegistry + "/cancelled", Tags: []string{"latest"},
		Context:  build.Context{Source: &src},
		Registry: build.RegistryAccess{InsecureRegistries: []string{env.ClusterRegistry}},
		Pod:      build.PodOptions{Image: env.KanikoImage, Deadline: 10 * time.Minute},
	})
	var f *build.Failure
	if !errors.As(err, &f) || f.Reason != build.ReasonCanceled {
		t.Fatalf("err = %v, want a cancelled build", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("cancelling took %s", took)
	}
	err = poll(context.Background(), 500*time.Millisecond, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Pods("default").Get(ctx, res.Pod, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	}, func(last error) error {
		return fmt.Errorf("build pod %s still exists 30s after the cancel (err %v)", res.Pod, last)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHarnessReusesClusterAfterNodeRestart restarts every node container,
// as a restart of Docker or of the machine does, which drops the routes
// between the nodes' pod subnets. Bringing the harness up again must
// reuse the cluster in a state where a Kaniko build on every node
// resolves and reaches the registry: CI once reused such a cluster and
// every build failed on DNS.
func TestHarnessReusesClusterAfterNodeRestart(t *testing.T) {
	requireCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Minute)
	defer cancel()
	h := New(OptionsFromEnv(testWriter{t}))
	before, err := h.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A marker that only survives if the cluster is reused, not recreated.
	_, client := clientsOf(t, before)
	marker := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "restart-marker-", Namespace: "default"}}
	if marker, err = client.CoreV1().ConfigMaps("default").Create(ctx, marker, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer client.CoreV1().ConfigMaps("default").Delete(context.WithoutCancel(ctx), marker.Name, metav1.DeleteOptions{})
	nodes, err := h.kindProvider().ListNodes(h.ClusterName)
	if err != nil {
		t.Fatal(err)
	}
	restart := []string{"restart"}
	for _, n := range nodes {
		restart = append(restart, n.String())
	}
	if _, err := output(ctx, cmd("docker", restart...)); err != nil {
		t.Fatal(err)
	}
	env, err := h.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, client := clientsOf(t, env)
	if _, err := client.CoreV1().ConfigMaps("default").Get(ctx, marker.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("the cluster was recreated instead of reused: %v", err)
	}
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := &kaniko.Executor{Client: client, Attacher: &kube.PodAttacher{Config: cfg, Client: client}, Log: testLogger{t}}
	for _, n := range list.Items {
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp {
			continue // tainted: builds never run there
		}
		src := buildcontext.Source{Files: map[string]string{"node": n.Name}, DockerfileInline: "FROM " + env.BaseImage + "\nCOPY node /node\n"}
		_, err := build.SnapshotContext{Next: b}.Build(ctx, build.Spec{
			Namespace:  "default",
			Repository: env.ClusterRegistry + "/harness-restart",
			Tags:       []string{"latest"},
			Context:    build.Context{Source: &src},
			Registry:   build.RegistryAccess{InsecureRegistries: []string{env.ClusterRegistry}},
			Pod:        build.PodOptions{Image: env.KanikoImage, Deadline: 5 * time.Minute, NodeSelector: map[string]string{"kubernetes.io/hostname": n.Name}},
		})
		if err != nil {
			t.Fatalf("build on %s after the nodes restarted: %v", n.Name, err)
		}
	}
}

// TestHarnessDebianFilesConcurrently fetches Debian packages twice at the same
// time into one cache, as a cold start's prefetch does for the study
// base and busybox: both must succeed (apt once refused the second with
// its lists lock held). It needs the Debian mirror, so it runs with the
// harness tests.
func TestHarnessDebianFilesConcurrently(t *testing.T) {
	requireCluster(t)
	c := Cache{Dir: t.TempDir()}
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		dir := t.TempDir()
		go func() {
			_, err := debianFiles(context.Background(), c, dir, []string{"busybox-static"})
			if err == nil {
				_, err = os.Stat(dir + "/bin/busybox")
			}
			errs <- err
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Errorf("concurrent fetch: %v (log: %s)", err, c.LogPath("apt-download"))
		}
	}
}
