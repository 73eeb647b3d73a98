package testcluster

import (
	"io"
	"os"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

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
	})
	if acceptanceErr != nil {
		t.Fatal(acceptanceErr)
	}
	return acceptance
}
