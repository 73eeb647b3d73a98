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
// downloaded. For an architecture other than the host's, apt gets a
// state of its own (see aptConfig), so the host's dpkg is never told
// about it.
func aptOptions(c Cache, arch string) ([]string, error) {
	dir := c.Path("debian", "apt")
	if arch != hostArch() {
		dir += "-" + arch
	}
	for _, d := range []string{"state/lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	opts, sources := aptConfig(dir, arch, hostArch())
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte(sources), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), nil, 0o644); err != nil {
		return nil, err
	}
	return opts, nil
}

// aptConfig is the apt command line options and source list of the
// private apt state in dir, for packages of arch on a host of host.
//
// For a foreign arch, apt is told that arch is its native architecture
// (APT::Architecture) and that host is a foreign one (APT::Architectures):
// a bare name then means arch's build or an Architecture: all package,
// which is what an image for arch needs (apt files "all" packages under
// the native architecture, so "node-acorn:arm64" would have no candidate
// on an amd64 apt), and NAME:host names the host's build from the same
// package lists. Nothing is installed and the status file is the
// harness' own empty one, so no dpkg --add-architecture is needed.
func aptConfig(dir, arch, host string) (opts []string, sources string) {
	archs := ""
	if arch != host {
		archs = "arch=" + arch + "," + host + " "
	}
	sources = fmt.Sprintf("deb [%ssigned-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n", archs, DebianMirror(), DebianSuite)
	opts = []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts=-",
		"-o", "Dir::Etc::Preferences=/dev/null",
		"-o", "Dir::Etc::PreferencesParts=-",
		"-o", "Dir::State=" + filepath.Join(dir, "state"),
		"-o", "Dir::State::status=" + filepath.Join(dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "APT::Sandbox::User=root",
	}
	if arch != host {
		opts = append(opts, "-o", "APT::Architecture="+arch, "-o", "APT::Architectures="+arch+","+host)
	}
	return append(opts, "-q"), sources
}

// debFiles are the patterns of the .deb file that apt-get download
// leaves for pkg when the native architecture is arch: pkg's build for
// arch or its Architecture: all package, or for "NAME:ARCH" that
// architecture's build.
func debFiles(pkg, arch string) []string {
	if name, a, ok := strings.Cut(pkg, ":"); ok {
		return []string{name + "_*_" + a + ".deb"}
	}
	return []string{pkg + "_*_" + arch + ".deb", pkg + "_*_all.deb"}
}

// debianFiles downloads packages of DebianSuite from DebianMirror for the
// host's architecture (GOARCH, which is Debian's name too for amd64 and
// arm64) and unpacks them into dir, without maintainer
// scripts. It returns the package file names, which carry the versions.
func debianFiles(ctx context.Context, c Cache, dir string, packages []string) ([]string, error) {
	var versions []string
	err := debianFetch(ctx, c, hostArch(), packages, func(debs []string) error {
		for _, deb := range debs {
			if err := runLogged(ctx, c.LogPath("apt-download"), cmd("dpkg-deb", "-x", deb, dir)); err != nil {
				return err
			}
			versions = append(versions, strings.TrimSuffix(filepath.Base(deb), ".deb"))
		}
		return nil
	})
	return versions, err
}

// debianFetch downloads packages of DebianSuite from DebianMirror built
// for arch (see debFiles for names) into a fresh directory and calls use
// with their .deb files, in the order of packages, while it still holds
// them.
func debianFetch(ctx context.Context, c Cache, arch string, packages []string, use func(debs []string) error) error {
	// apt refuses to run while another apt holds its lists lock, and cold
	// starts fetch the study base and busybox at the same time: take
	// turns instead of failing one of them. Every architecture takes the
	// same turn, which also keeps two downloads from sharing the line.
	unlock, err := lockEntry(c.Path("debian", "apt"))
	if err != nil {
		return err
	}
	defer unlock()
	opts, err := aptOptions(c, arch)
	if err != nil {
		return err
	}
	log := c.LogPath("apt-download")
	if err := runLogged(ctx, log, cmd("apt-get", append(opts, "update")...)); err != nil {
		return err
	}
	// A fresh directory each time, so only the versions apt picks today
	// are unpacked.
	dir, err := os.MkdirTemp(c.Path("debian"), "debs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dl := cmd("apt-get", append(append(opts, "download"), packages...)...)
	dl.dir = dir
	if err := runLogged(ctx, log, dl); err != nil {
		return err
	}
	var debs []string
	for _, p := range packages {
		var matches []string
		for _, pattern := range debFiles(p, arch) {
			m, _ := filepath.Glob(filepath.Join(dir, pattern))
			matches = append(matches, m...)
		}
		if len(matches) == 0 {
			return fmt.Errorf("apt-get download left no .deb for %s in %s", p, dir)
		}
		debs = append(debs, matches[0])
	}
	return use(debs)
}
