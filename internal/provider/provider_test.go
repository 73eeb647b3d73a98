package provider

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/buildtest"
)

// clusterRegistry is the registry name the tests' configurations push to,
// as a pod in the study's cluster would.
const clusterRegistry = "registry.kube-system.svc.cluster.local:5000"

// testEnv is a fake cluster whose builds push to an in-memory registry
// that the provider reaches through registry_hosts.
type testEnv struct {
	cluster      *buildtest.Cluster
	registryHost string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{cluster: buildtest.NewCluster(map[string]string{clusterRegistry: u.Host}), registryHost: u.Host}
}

func (e *testEnv) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"onesbuild": providerserver.NewProtocol6WithError(NewWithOptions("test", Options{Cluster: e.cluster})()),
	}
}

// providerBlock configures the provider to read the in-memory registry.
func (e *testEnv) providerBlock() string {
	return fmt.Sprintf(`
provider "onesbuild" {
  namespace           = "builds"
  kaniko_image        = "localhost:5000/kaniko-executor:v1.24.0"
  insecure_registries = [%[1]q]
  registry_hosts      = { %[1]q = %[2]q }
}
`, clusterRegistry, e.registryHost)
}

// unconfiguredFactories serve a provider without cluster or registry, for
// plan-only tests.
func unconfiguredFactories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"onesbuild": providerserver.NewProtocol6WithError(NewWithOptions("test", Options{Getenv: func(string) string { return "" }})()),
	}
}
