package testcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DebianMirror is where debootstrap fetches packages; ONESBUILD_DEBIAN_MIRROR
// overrides it for machines with an internal mirror.
func DebianMirror() string {
	if m := os.Getenv("ONESBUILD_DEBIAN_MIRROR"); m != "" {
		return m
	}
	return "http://deb.debian.org/debian"
}

// nodePackages are the Debian packages of the kind node's root file
// system: what kind's own base image installs, with Debian's containerd,
// runc and CNI plugins instead of upstream builds.
var nodePackages = []string{
	"bash", "ca-certificates", "conntrack", "containerd", "containernetworking-plugins", "curl", "dbus",
	"e2fsprogs", "ethtool", "iproute2", "iptables", "jq", "kmod", "libseccomp2", "mount", "nftables",
	"pigz", "procps", "runc", "systemd", "systemd-sysv", "util-linux",
}

// debootstrap creates a minimal Debian root file system in dir.
func debootstrap(ctx context.Context, c Cache, dir string, include []string) error {
	archives := c.Path("debian", "archives")
	if err := os.MkdirAll(archives, 0o755); err != nil {
		return err
	}
	if err := removeTree(dir); err != nil {
		return err
	}
	return runLogged(ctx, c.LogPath("debootstrap"), cmd("debootstrap",
		"--variant=minbase", "--cache-dir="+archives, "--include="+strings.Join(include, ","),
		DebianSuite, dir, DebianMirror()))
}

// aptOptions make apt read only the harness' own source list and state,
// so host pins and third-party repositories do not change what is
// downloaded.
func aptOptions(c Cache) ([]string, error) {
	dir := c.Path("debian", "apt")
	for _, d := range []string{"state/lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	sources := fmt.Sprintf("deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n", DebianMirror(), DebianSuite)
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte(sources), 0o644); err != nil {
		return nil, err
	}
	status := filepath.Join(dir, "status")
	if err := os.WriteFile(status, nil, 0o644); err != nil {
		return nil, err
	}
	return []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts=-",
		"-o", "Dir::Etc::Preferences=/dev/null",
		"-o", "Dir::Etc::PreferencesParts=-",
		"-o", "Dir::State=" + filepath.Join(dir, "state"),
		"-o", "Dir::State::status=" + status,
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "APT::Sandbox::User=root",
		"-q",
	}, nil
}

// debianFiles downloads packages of DebianSuite from DebianMirror and
// unpacks them into dir, without maintainer scripts. It returns the
// package file names, which carry the versions.
func debianFiles(ctx context.Context, c Cache, dir string, packages []string) ([]string, error) {
	// apt refuses to run while another apt holds its lists lock, and cold
	// starts fetch the study base and busybox at the same time: take
	// turns instead of failing one of them.
	unlock, err := lockEntry(c.Path("debian", "apt"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	opts, err := aptOptions(c)
	if err != nil {
		return nil, err
	}
	log := c.LogPath("apt-download")
	if err := runLogged(ctx, log, cmd("apt-get", append(opts, "update")...)); err != nil {
		return nil, err
	}
	// A fresh directory each time, so only the versions apt picks today
	// are unpacked.
	debs, err := os.MkdirTemp(c.Path("debian"), "debs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(debs)
	dl := cmd("apt-get", append(append(opts, "download"), packages...)...)
	dl.dir = debs
	if err := runLogged(ctx, log, dl); err != nil {
		return nil, err
	}
	var versions []string
	for _, p := range packages {
		matches, _ := filepath.Glob(filepath.Join(debs, p+"_*.deb"))
		if len(matches) == 0 {
			return nil, fmt.Errorf("apt-get download left no .deb for %s in %s", p, debs)
		}
		if err := runLogged(ctx, log, cmd("dpkg-deb", "-x", matches[0], dir)); err != nil {
			return nil, err
		}
		versions = append(versions, strings.TrimSuffix(filepath.Base(matches[0]), ".deb"))
	}
	return versions, nil
}
