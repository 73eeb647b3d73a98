package testcluster

import (
	"strings"
	"testing"
)

func TestHostsToml(t *testing.T) {
	got := hostsToml("registry.k8s.io", "onesbuild-registry:5000")
	if !strings.Contains(got, `server = "https://registry.k8s.io"`) || !strings.Contains(got, `[host."http://onesbuild-registry:5000"]`) {
		t.Errorf("hosts.toml for registry.k8s.io:\n%s", got)
	}
	if got := hostsToml("localhost:5000", "onesbuild-registry:5000"); !strings.Contains(got, `server = "http://onesbuild-registry:5000"`) {
		t.Errorf("hosts.toml for localhost:5000 must not fall back to the node itself:\n%s", got)
	}
}
