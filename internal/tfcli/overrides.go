package tfcli

import (
	"fmt"
	"os"
	"strings"
)

// registryHosts are the hosts a dev override is written under: Terraform
// resolves a source without a host under registry.terraform.io and
// OpenTofu under registry.opentofu.org, so either CLI finds it.
var registryHosts = []string{"registry.terraform.io", "registry.opentofu.org"}

// DevOverrides is a CLI configuration that takes the provider source
// ("namespace/type") from the binaries in pluginDir, under both registry
// hosts, and installs every other provider as usual.
func DevOverrides(source, pluginDir string) string {
	var b strings.Builder
	b.WriteString("provider_installation {\n  dev_overrides {\n")
	for _, host := range registryHosts {
		fmt.Fprintf(&b, "    %q = %q\n", host+"/"+source, pluginDir)
	}
	b.WriteString("  }\n  direct {}\n}\n")
	return b.String()
}

// WriteDevOverrides writes DevOverrides(source, pluginDir) to path, the
// file a Dir's ConfigFile names.
func WriteDevOverrides(path, source, pluginDir string) error {
	return os.WriteFile(path, []byte(DevOverrides(source, pluginDir)), 0o644)
}

// RequiredProvider is a terraform block that requires source under the
// local name name, for configurations that use a provider outside the
// hashicorp namespace.
func RequiredProvider(name, source string) string {
	return fmt.Sprintf("terraform {\n  required_providers {\n    %s = { source = %q }\n  }\n}\n", name, source)
}
