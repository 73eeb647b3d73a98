package testcluster

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAptConfig(t *testing.T) {
	t.Setenv("ONESBUILD_DEBIAN_MIRROR", "")
	native, nativeSources := aptConfig("/c/debian/apt", "amd64", "amd64")
	foreign, foreignSources := aptConfig("/c/debian/apt-arm64", "arm64", "amd64")

	if nativeSources != "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main\n" {
		t.Errorf("native sources %q", nativeSources)
	}
	if foreignSources != "deb [arch=arm64,amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main\n" {
		t.Errorf("foreign sources %q", foreignSources)
	}
	for _, o := range native {
		if strings.HasPrefix(o, "APT::Architecture") {
			t.Errorf("native options set %s", o)
		}
	}
	// Options come in "-o", "Key=value" pairs; "-q" ends them.
	pairs := func(opts []string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(opts); i += 2 {
			if opts[i] != "-o" {
				t.Fatalf("option %d is %q, want -o: %q", i, opts[i], opts)
			}
			k, v, _ := strings.Cut(opts[i+1], "=")
			m[k] = v
		}
		if opts[len(opts)-1] != "-q" {
			t.Errorf("options end in %q", opts[len(opts)-1])
		}
		return m
	}
	got := pairs(foreign)
	for k, want := range map[string]string{
		"APT::Architecture":          "arm64",
		"APT::Architectures":         "arm64,amd64",
		"Dir::Etc::SourceList":       "/c/debian/apt-arm64/sources.list",
		"Dir::Etc::SourceParts":      "-",
		"Dir::Etc::Preferences":      "/dev/null",
		"Dir::Etc::PreferencesParts": "-",
		"Dir::State":                 "/c/debian/apt-arm64/state",
		"Dir::State::status":         "/c/debian/apt-arm64/status",
		"Dir::Cache":                 "/c/debian/apt-arm64/cache",
		"APT::Sandbox::User":         "root",
	} {
		if got[k] != want {
			t.Errorf("foreign %s = %q, want %q", k, got[k], want)
		}
	}
	if n := pairs(native); len(n) != len(got)-2 || n["Dir::State"] != "/c/debian/apt/state" {
		t.Errorf("native options %q", native)
	}
}

func TestDebFiles(t *testing.T) {
	for _, tt := range []struct {
		pkg, arch string
		want      []string
	}{
		{"nodejs", "arm64", []string{"nodejs_*_arm64.deb", "nodejs_*_all.deb"}},
		{"busybox-static:amd64", "arm64", []string{"busybox-static_*_amd64.deb"}},
		{"libc6", "amd64", []string{"libc6_*_amd64.deb", "libc6_*_all.deb"}},
	} {
		if got := debFiles(tt.pkg, tt.arch); !slices.Equal(got, tt.want) {
			t.Errorf("debFiles(%q, %q) = %q, want %q", tt.pkg, tt.arch, got, tt.want)
		}
	}
	// The patterns keep one architecture's busybox from the other's.
	both := []string{"busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb", "busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb", "node-acorn_8.8.1+ds+~cs25.17.7-2_all.deb"}
	for _, tt := range []struct{ pkg, want string }{
		{"busybox-static", both[1]}, {"busybox-static:amd64", both[0]}, {"node-acorn", both[2]},
	} {
		var got []string
		for _, p := range debFiles(tt.pkg, "arm64") {
			for _, f := range both {
				if ok, _ := filepath.Match(p, f); ok {
					got = append(got, f)
				}
			}
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s matches %q, want %s", tt.pkg, got, tt.want)
		}
	}
}
