package testcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// Acceptance is the harness cluster as acceptance tests use it: its
// addresses, a client, and a registry client that reaches the
// registry from this machine.
type Acceptance struct {
	Env      *Env
	Config   *rest.Config
	Client   kubernetes.Interface
	Registry *registry.Client
}

var (
	acceptanceOnce sync.Once
	acceptance     *Acceptance
	acceptanceErr  error

	// processStart tells this test binary's build pods from those of an
	// earlier one.
	processStart = time.Now()
)

// RequireAcceptance returns the harness cluster that make cluster-up
// brought up, loaded once per test binary. Without TF_ACC the test is
// skipped (make testacc sets it and fails on any skip); a cluster that
// is not up fails the test.
func RequireAcceptance(t testing.TB) *Acceptance {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 and bring the cluster up (make testacc does both)")
	}
	acceptanceOnce.Do(func() {
		env, err := LoadEnv(New(OptionsFromEnv(io.Discard)).EnvPath())
		if err != nil {
			acceptanceErr = err
			return
		}
		cfg, client, err := kube.ClientsFromKubeconfig(env.Kubeconfig)
		if err != nil {
			acceptanceErr = err
			return
		}
		acceptance = &Acceptance{Env: env, Config: cfg, Client: client, Registry: &registry.Client{
			Hosts:    map[string]string{env.ClusterRegistry: env.HostRegistry},
			Insecure: []string{env.ClusterRegistry},
		}}
		acceptanceErr = removeEarlierBuildPods(context.Background(), client, processStart)
	})
	if acceptanceErr != nil {
		t.Fatal(acceptanceErr)
	}
	return acceptance
}

// removeEarlierBuildPods deletes the build pods created before this test
// binary started: a test binary killed mid-build (a timeout, a session
// ended by force) leaves its pod, the cluster is reused, and every test
// that checks that no build pod is left would then fail on a pod no
// test of this run made. The acceptance packages run one at a time, so
// a pod older than this process belongs to none of its tests.
func removeEarlierBuildPods(ctx context.Context, client kubernetes.Interface, before time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	pods, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: kaniko.LabelManagedBy + "=" + kaniko.ManagedBy})
	if err != nil {
		return fmt.Errorf("listing build pods left by earlier test runs: %w", err)
	}
	// Creation times are kept to the second: a pod this binary made in
	// its first second must not look older than it. (Test binaries that
	// share the cluster run one at a time, -p 1, so any older pod is a
	// dead run's.)
	before = before.Truncate(time.Second)
	for _, pod := range pods.Items {
		if !pod.CreationTimestamp.Time.Before(before) {
			continue
		}
		fmt.Fprintf(os.Stderr, "testcluster: deleting build pod %s/%s, left by an earlier test run (created %s)\n",
			pod.Namespace, pod.Name, pod.CreationTimestamp.Format(time.RFC3339))
		err := client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting build pod %s/%s left by an earlier test run: %w", pod.Namespace, pod.Name, err)
		}
	}
	return nil
}
