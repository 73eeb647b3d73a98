package provider

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/fakecluster"
)

// clusterRegistry is the registry name the tests' configurations push to,
// as a pod in the study's cluster would.
const clusterRegistry = "registry.kube-system.svc.cluster.local:5000"

// testEnv is a fake cluster whose builds push to an in-memory registry
// that the provider reaches through registry_hosts.
type testEnv struct {
	cluster      *fakecluster.Cluster
	registryHost string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvWith(t, func(h http.Handler) http.Handler { return h })
}

// newTestEnvWith is newTestEnv with the registry's handler wrapped, to
// make it misbehave.
func newTestEnvWith(t *testing.T, wrap func(http.Handler) http.Handler) *testEnv {
	t.Helper()
	srv := httptest.NewServer(wrap(registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{cluster: fakecluster.New(map[string]string{clusterRegistry: u.Host}), registryHost: u.Host}
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

// TestProvider_unknownConfigurationValues configures the provider from a
// resource that does not exist yet: planning must work with the values
// unknown, and the apply must use them once they are known.
func TestProvider_unknownConfigurationValues(t *testing.T) {
	e := newTestEnv(t)
	dir := writeContext(t)
	config := fmt.Sprintf(`
resource "terraform_data" "registry" {
  input = { name = %[1]q, address = %[2]q }
}

provider "onesbuild" {
  namespace           = "builds"
  insecure_registries = [terraform_data.registry.output.name]
  registry_hosts      = { (terraform_data.registry.output.name) = terraform_data.registry.output.address }
  exec {
    api_version = "client.authentication.k8s.io/v1"
    command     = terraform_data.registry.output.name
    args        = [terraform_data.registry.output.address]
    env         = { ADDRESS = terraform_data.registry.output.address }
  }
}

resource "onesbuild_image" "app" {
  repository  = "%[1]s/new-image"
  context_dir = %[3]q
}
`, clusterRegistry, e.registryHost, dir)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				// The size is read through registry_hosts, which was unknown
				// at plan time.
				statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("image_size_bytes"), knownvalue.NotNull()),
				statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
			},
		}},
	})
}
