package testcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// KindVersion is the kind release whose Go library creates clusters and
// whose base image files the node image is assembled from.
const KindVersion = "v0.33.0"

// nodeRootfsRecipe changes whenever the node root file system would.
func nodeRootfsRecipe() string {
	return strings.Join([]string{"node-rootfs/v2", DebianSuite, strings.Join(nodePackages, ","), KindVersion, ptpConflist}, "\n")
}

// ptpConflist replaces kindnetd, which is not built here: a point-to-point
// CNI network with host-local addresses from the single node's pod CIDR,
// kind's first: ptpConflistFor that subnet, so the two cannot drift. The
// node image whites it out for each node's own (wirePodNetwork).
var ptpConflist = ptpConflistFor("10.244.0.0/24")

// nodeRootfsLayer returns the node's root file system as a cached,
// gzip-compressed layer, building it with debootstrap when needed. The
// same layer is the base of the kube-proxy image, which needs iptables.
func (h *Harness) nodeRootfsLayer(ctx context.Context) (v1.Layer, error) {
	recipe := nodeRootfsRecipe()
	step := "build the kind node root file system (debootstrap " + DebianSuite + ", Debian containerd/runc/CNI, kind " + KindVersion + " base files)"
	return h.cachedLayer("node-rootfs", "rootfs.tar.gz", recipe, step, func(dir, file string) error {
		return h.buildNodeRootfs(ctx, dir, file, recipe)
	})
}

func (h *Harness) buildNodeRootfs(ctx context.Context, dir, file, recipe string) error {
	root, cleanup, err := h.Cache.workDir("node-rootfs")
	if err != nil {
		return err
	}
	defer cleanup()
	if err := debootstrap(ctx, h.Cache, root, nodePackages); err != nil {
		return err
	}
	kindFiles, err := moduleDir(ctx, "sigs.k8s.io/kind", KindVersion)
	if err != nil {
		return err
	}
	if err := prepareNodeRootfs(ctx, h.Cache, root, filepath.Join(kindFiles, "images", "base", "files")); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := runLogged(ctx, h.Cache.LogPath("node-rootfs-tar"), cmd("tar", "-C", root, "--numeric-owner", "--use-compress-program=gzip -1", "-cf", tmp, ".")); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	return markFresh(dir, recipe)
}

// prepareNodeRootfs turns a debootstrap tree into what kind's base image
// contains: kind's entrypoint and units, containerd configured for the
// kubelet, CNI plugins where containerd looks for them.
func prepareNodeRootfs(ctx context.Context, c Cache, root, kindFiles string) error {
	log := c.LogPath("node-rootfs-prepare")
	if err := copyTree(kindFiles, root); err != nil {
		return fmt.Errorf("copying kind base files: %w", err)
	}
	// The Go module cache drops execute bits; kind's Dockerfile installs
	// these with mode 0755.
	for _, dir := range []string{"usr/local/bin", "kind/bin"} {
		entries, err := os.ReadDir(filepath.Join(kindFiles, dir))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := os.Chmod(filepath.Join(root, dir, e.Name()), 0o755); err != nil {
				return err
			}
		}
	}
	// kind's units run /usr/local/bin/containerd; Debian installs /usr/bin.
	for _, bin := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		link := filepath.Join(root, "usr/local/bin", bin)
		_ = os.Remove(link)
		if err := os.Symlink("/usr/bin/"+bin, link); err != nil {
			return err
		}
	}
	// As kind's Dockerfile does: no units that make no sense in a container.
	for _, pattern := range []string{
		"lib/systemd/system/multi-user.target.wants/*", "etc/systemd/system/*.wants/*",
		"lib/systemd/system/local-fs.target.wants/*", "lib/systemd/system/sockets.target.wants/*udev*",
		"lib/systemd/system/sockets.target.wants/*initctl*", "lib/systemd/system/basic.target.wants/*",
		"lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
		"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*",
	} {
		matches, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	if err := appendFile(filepath.Join(root, "etc/systemd/journald.conf"), "ReadKMsg=no\n"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/machine-id"), nil, 0o444); err != nil {
		return err
	}
	for _, c := range []command{
		cmd("chroot", root, "systemctl", "enable", "kubelet.service", "containerd.service", "undo-mount-hacks.service"),
		cmd("chroot", root, "systemctl", "mask", "systemd-binfmt.service"),
	} {
		if err := runLogged(ctx, log, c); err != nil {
			return err
		}
	}
	spec, err := output(ctx, cmd("chroot", root, "ctr", "oci", "spec"))
	if err != nil {
		return err
	}
	criBase, err := criBaseSpec([]byte(spec))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/containerd/cri-base.json"), criBase, 0o644); err != nil {
		return err
	}
	for _, d := range []string{"opt/cni/bin", "etc/cni/net.d", "etc/kubernetes/manifests", "etc/containerd/certs.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyTree(filepath.Join(root, "usr/lib/cni"), filepath.Join(root, "opt/cni/bin")); err != nil {
		return fmt.Errorf("installing CNI plugins: %w", err)
	}
	return os.WriteFile(filepath.Join(root, "etc/cni/net.d/10-ptp.conflist"), []byte(ptpConflist), 0o644)
}

// criBaseSpec derives containerd's base runtime spec the way kind does:
// containerd's default spec with kind's mount hook and without rlimits.
func criBaseSpec(defaultSpec []byte) ([]byte, error) {
	var spec map[string]any
	if err := json.Unmarshal(defaultSpec, &spec); err != nil {
		return nil, fmt.Errorf("parsing ctr oci spec output: %w", err)
	}
	hooks, _ := spec["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
	}
	create, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(create, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	spec["hooks"] = hooks
	if process, ok := spec["process"].(map[string]any); ok {
		delete(process, "rlimits")
	}
	return json.MarshalIndent(spec, "", "  ")
}

// moduleDir downloads a Go module and returns its directory.
func moduleDir(ctx context.Context, module, version string) (string, error) {
	c := cmd("go", "mod", "download", "-json", module+"@"+version)
	c.env = []string{"GOWORK=off", "GOFLAGS=-mod=mod"}
	c.dir = os.TempDir()
	raw, err := output(ctx, c)
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return "", err
	}
	if info.Error != "" {
		return "", fmt.Errorf("downloading %s@%s: %s", module, version, info.Error)
	}
	return info.Dir, nil
}

// copyTree copies files, directories and symlinks from src into dst,
// making copies writable (module cache files are read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			_ = os.Remove(target)
			return os.Symlink(link, target)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_ = os.Remove(target)
			return os.WriteFile(target, data, info.Mode().Perm()|0o200)
		}
	})
}

func appendFile(p, text string) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(text)
	return err
}
