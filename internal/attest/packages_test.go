package attest

import (
	"archive/tar"
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
)

func fileEntry(name, content string) imagefstest.Entry {
	return imagefstest.Entry{Header: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, Content: content}
}

func names(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Type+":"+p.Name+"="+p.Version)
	}
	return out
}

func TestPackagesFollowTheTopmostLayer(t *testing.T) {
	base := imagefstest.Layer(t, fileEntry("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n"))
	upgraded := imagefstest.Layer(t, fileEntry("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 2\n\nPackage: b\nStatus: install ok installed\nVersion: 1\n"))
	unrelated := imagefstest.Layer(t, fileEntry("app/x", "x"))
	removed := imagefstest.Layer(t, fileEntry("var/lib/dpkg/.wh.status", ""))
	opaque := imagefstest.Layer(t, fileEntry("var/lib/dpkg/.wh..wh..opq", ""))
	distroless := imagefstest.Layer(t, fileEntry("var/lib/dpkg/status.d/tzdata", "Package: tzdata\nVersion: 2025a\nArchitecture: all\n"))
	alpine := imagefstest.Layer(t, fileEntry("lib/apk/db/installed", "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\nP:busybox\nV:1.36.1-r29\nA:x86_64\n"))
	cases := []struct {
		name   string
		layers []v1.Layer
		want   []string
	}{
		{"base only", []v1.Layer{base}, []string{"deb:a=1"}},
		{"a later layer's database wins", []v1.Layer{base, upgraded, unrelated}, []string{"deb:a=2", "deb:b=1"}},
		{"a whiteout removes it", []v1.Layer{base, removed}, nil},
		{"an opaque directory removes it", []v1.Layer{base, opaque}, nil},
		{"written again after a whiteout", []v1.Layer{base, removed, upgraded}, []string{"deb:a=2", "deb:b=1"}},
		{"distroless status.d beside none", []v1.Layer{distroless}, []string{"deb:tzdata=2025a"}},
		{"alpine", []v1.Layer{alpine}, []string{"apk:busybox=1.36.1-r29", "apk:musl=1.2.5-r0"}},
	}
	cache := &DatabaseCache{Dir: t.TempDir()}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, cache := range []*DatabaseCache{nil, cache, {Dir: cache.Dir}} {
				got, err := Packages(c.layers, cache)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(names(got), c.want) {
					t.Errorf("packages %v, want %v", names(got), c.want)
				}
			}
		})
	}
}

func TestAddedFilesFollowWhiteouts(t *testing.T) {
	l1 := imagefstest.Layer(t, fileEntry("etc/base.conf", "base"))
	l2 := imagefstest.Layer(t, fileEntry("app/a", "a"), fileEntry("app/sub/b", "b"), fileEntry("app/c", "c"))
	l3 := imagefstest.Layer(t, fileEntry("app/.wh.c", ""), fileEntry("app/sub/.wh..wh..opq", ""), fileEntry("app/a", "a2"),
		imagefstest.Entry{Header: tar.Header{Name: "app/hard", Typeflag: tar.TypeLink, Linkname: "app/a"}})
	files, err := AddedFiles([]v1.Layer{l1, l2, l3}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path+"="+f.SHA256[:8])
	}
	want := []string{"/app/a=2c3a4249", "/app/hard=2c3a4249"} // sha256("a2")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("added files %v, want %v", got, want)
	}
	if _, err := AddedFiles([]v1.Layer{l1}, 2, nil); err == nil {
		t.Error("more base layers than layers was accepted")
	}
}

// TestAddedFilesFillTheDatabaseCache reads the added layers once: what
// AddedFiles saw of the package databases is what Packages reads, with
// the same result as reading the layers again.
func TestAddedFilesFillTheDatabaseCache(t *testing.T) {
	base := imagefstest.Layer(t, fileEntry("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n"))
	installs := imagefstest.Layer(t, fileEntry("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: curl\nStatus: install ok installed\nVersion: 8\n"))
	removes := imagefstest.Layer(t, fileEntry("var/lib/dpkg/.wh..wh..opq", ""), fileEntry("var/lib/dpkg/status.d/only", "Package: only\nVersion: 1\n"))
	for _, layers := range [][]v1.Layer{{base, installs}, {base, installs, removes}} {
		cache := &DatabaseCache{}
		if _, err := AddedFiles(layers, 1, cache); err != nil {
			t.Fatal(err)
		}
		if len(cache.layers) != len(layers)-1 {
			t.Fatalf("cache holds %d layers, want the %d added", len(cache.layers), len(layers)-1)
		}
		cached, err := Packages(layers, cache)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := Packages(layers, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(names(cached), names(fresh)) || len(fresh) == 0 {
			t.Errorf("from the cache %v, read again %v", names(cached), names(fresh))
		}
	}
}
