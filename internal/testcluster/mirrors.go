package testcluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// mirroredRegistries are the names the node's container runtime resolves
// through the local registry: the control-plane images' home, the
// executor's home, and the names tests and pods use.
func (h *Harness) mirroredRegistries() []string {
	return []string{"registry.k8s.io", "gcr.io", "ghcr.io", "docker.io", "localhost:5000", clusterRegistryName, h.RegistryName + ":5000"}
}

// hostsToml is containerd's mirror configuration for one registry name:
// pull through the local registry, falling back to the real registry
// where there is one.
func hostsToml(registry, mirror string) string {
	server := "http://" + mirror
	switch registry {
	case "docker.io":
		server = "https://registry-1.docker.io"
	case "registry.k8s.io", "gcr.io", "ghcr.io":
		server = "https://" + registry
	}
	return fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n  skip_verify = true\n", server, "http://"+mirror)
}

// certsDFiles is the mirror configuration the node mounts at
// /etc/containerd/certs.d, by relative path.
func (h *Harness) certsDFiles() map[string]string {
	files := map[string]string{}
	mirror := h.RegistryName + ":5000"
	for _, r := range h.mirroredRegistries() {
		files[filepath.Join(r, "hosts.toml")] = hostsToml(r, mirror)
	}
	return files
}

// certsDPath is where the mirror configuration lives on the host.
func (h *Harness) certsDPath() string { return filepath.Join(h.StateDir, "certs.d") }

// writeCertsD writes the mirror configuration. Only call it when the
// cluster is (re)created: a running node has the directory bind-mounted,
// and replacing it would take the mirrors away from under containerd.
func (h *Harness) writeCertsD(files map[string]string) error {
	dir := h.certsDPath()
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for rel, content := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
