package attest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
)

func rvPaths(fs []File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return out
}

func rvHas(fs []File, p string) *File {
	for i := range fs {
		if fs[i].Path == p {
			return &fs[i]
		}
	}
	return nil
}

func rvDir(n string) imagefstest.Entry {
	return imagefstest.Entry{Header: tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755}}
}

// OCI image-spec: whiteouts (and opaque markers) apply only to lower layers.
func TestHostile_OpaqueMarkerAfterSameLayerFile(t *testing.T) {
	base := imagefstest.Layer(t, fileEntry("d/old", "old"))
	added := imagefstest.Layer(t, rvDir("d/"), fileEntry("d/new", "new"), fileEntry("d/.wh..wh..opq", ""))
	got, err := AddedFiles([]v1.Layer{base, added}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rvHas(got, "/d/new") == nil {
		t.Errorf("same-layer file hidden by the layer's own opaque marker: %v", rvPaths(got))
	}
}

func TestHostile_WhiteoutAfterSameLayerFile(t *testing.T) {
	base := imagefstest.Layer(t, fileEntry("x", "old"))
	added := imagefstest.Layer(t, fileEntry("x", "new"), fileEntry(".wh.x", ""))
	got, _ := AddedFiles([]v1.Layer{base, added}, 1, nil)
	if rvHas(got, "/x") == nil {
		t.Errorf("same-layer file hidden by the layer's own whiteout: %v", rvPaths(got))
	}
}

func TestHostile_WhiteoutOfDirHoldingAddedFiles(t *testing.T) {
	l1 := imagefstest.Layer(t, rvDir("d/"), fileEntry("d/a", "a"), fileEntry("d/sub/b", "b"), fileEntry("dx", "keep"))
	l2 := imagefstest.Layer(t, fileEntry(".wh.d", ""))
	got, _ := AddedFiles([]v1.Layer{l1, l2}, 0, nil)
	if strings.Join(rvPaths(got), ",") != "/dx" {
		t.Errorf("got %v want [/dx]", rvPaths(got))
	}
	l3 := imagefstest.Layer(t, fileEntry("d/.wh..wh..opq", ""), fileEntry("d/c", "c"))
	got, _ = AddedFiles([]v1.Layer{l1, l3}, 0, nil)
	if strings.Join(rvPaths(got), ",") != "/d/c,/dx" {
		t.Errorf("opaque: got %v", rvPaths(got))
	}
}

func TestHostile_HardLinkToBaseFile(t *testing.T) {
	base := imagefstest.Layer(t, fileEntry("usr/bin/python3", "interp"))
	added := imagefstest.Layer(t, imagefstest.Entry{Header: tar.Header{Name: "usr/local/bin/py", Typeflag: tar.TypeLink, Linkname: "usr/bin/python3", Mode: 0o755}})
	got, _ := AddedFiles([]v1.Layer{base, added}, 1, nil)
	if rvHas(got, "/usr/local/bin/py") == nil {
		t.Errorf("a hard link the build added (to a base file) is missing: %v", rvPaths(got))
	}
}

func TestHostile_HardLinkSameLayer(t *testing.T) {
	added := imagefstest.Layer(t, fileEntry("a", "content"), imagefstest.Entry{Header: tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a"}})
	got, _ := AddedFiles([]v1.Layer{added}, 0, nil)
	sum := sha256.Sum256([]byte("content"))
	if f := rvHas(got, "/b"); f == nil || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("same-layer hard link: %+v", got)
	}
}

func TestHostile_FileReplacedByDirectory(t *testing.T) {
	l1 := imagefstest.Layer(t, fileEntry("p", "file"))
	l2 := imagefstest.Layer(t, rvDir("p/"), fileEntry("p/q", "q"))
	got, _ := AddedFiles([]v1.Layer{l1, l2}, 0, nil)
	if rvHas(got, "/p") != nil {
		t.Errorf("/p is a directory in the final image, still listed as a file: %v", rvPaths(got))
	}
}

func TestHostile_DirectoryReplacedBySymlink(t *testing.T) {
	l1 := imagefstest.Layer(t, rvDir("p/"), fileEntry("p/q", "q"))
	l2 := imagefstest.Layer(t, imagefstest.Entry{Header: tar.Header{Name: "p", Typeflag: tar.TypeSymlink, Linkname: "/elsewhere"}})
	got, _ := AddedFiles([]v1.Layer{l1, l2}, 0, nil)
	if rvHas(got, "/p/q") != nil {
		t.Errorf("/p is a symlink in the final image, /p/q still listed: %v", rvPaths(got))
	}
}

func TestHostile_EmptyAddedLayerAndSymlink(t *testing.T) {
	empty := imagefstest.Layer(t)
	sl := imagefstest.Layer(t, imagefstest.Entry{Header: tar.Header{Name: "./l", Typeflag: tar.TypeSymlink, Linkname: "../../etc/passwd", Mode: 0o777}})
	got, err := AddedFiles([]v1.Layer{empty, sl, empty}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("../../etc/passwd"))
	if f := rvHas(got, "/l"); f == nil || f.SHA256 != hex.EncodeToString(sum[:]) || f.LinkTarget != "../../etc/passwd" {
		t.Errorf("symlink: %+v", got)
	}
	if _, err := AddedFiles([]v1.Layer{empty}, 2, nil); err == nil {
		t.Error("baseLayers beyond the layers accepted")
	}
}

func TestHostile_DpkgOddFormatting(t *testing.T) {
	cases := map[string]string{
		"crlf":             "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n\r\nPackage: b\r\nStatus: install ok installed\r\nVersion: 2\r\n",
		"blank with space": "Package: a\nStatus: install ok installed\nVersion: 1\n \nPackage: b\nStatus: install ok installed\nVersion: 2\n",
		"many blanks":      "\n\nPackage: a\nStatus: install ok installed\nVersion: 1\n\n\n\nPackage: b\nStatus: install ok installed\nVersion: 2",
		"no space":         "Package:a\nStatus:install ok installed\nVersion:1\n\nPackage:b\nStatus:install ok installed\nVersion:2\n",
	}
	for name, raw := range cases {
		got := parseDpkg([]byte(raw))
		var ns []string
		for _, p := range got {
			ns = append(ns, p.Name+"="+p.Version)
		}
		if strings.Join(ns, ",") != "a=1,b=2" {
			t.Errorf("%s: %q", name, ns)
		}
	}
}

func rvInput(platforms int) SBOMInput {
	goBin := &GoBinary{GoVersion: "go1.22", Path: "example.com/x/cmd", Main: Module{Path: "example.com/x", Version: "(devel)"},
		Deps: []Module{{Path: "golang.org/x/sys", Version: "v0.1.0", Sum: "h1:abc"}, {Path: "example.com/fork", Version: "v1.0.0"}, {Path: "example.com/fork", Version: "v1.0.0"}}}
	c := Contents{Platform: "linux/amd64", Files: []File{
		{Path: "/app/a file with spaces ü", SHA256: strings.Repeat("a", 64), SHA1: strings.Repeat("b", 40), Mode: 0o644},
		{Path: "/app/bin", SHA256: strings.Repeat("c", 64), SHA1: strings.Repeat("d", 40), Mode: 0o755, Go: goBin},
		{Path: "/app/link", SHA256: strings.Repeat("e", 64), SHA1: strings.Repeat("f", 40), Mode: 0o777, LinkTarget: "bin"},
	}, Packages: []Package{{Type: "deb", Name: "libc6", Version: "2.36", Architecture: "amd64", Source: "glibc"},
		{Type: "deb", Name: "libc6", Version: "2.36", Architecture: "amd64", Source: "glibc"}, // in status and status.d
		{Type: "deb", Name: "tzdata", Version: "1:2025a", Architecture: "all"}}}
	in := SBOMInput{Image: Image{Repository: "r.example:5000/app", Digest: "sha256:" + strings.Repeat("1", 64)},
		Base: &Base{Ref: "r.example:5000/base:v1", Digest: "sha256:" + strings.Repeat("2", 64), SBOM: &Document{Namespace: "https://x/ns", SHA1: strings.Repeat("3", 40)}},
		Tool: "terraform-provider-onesbuild test"}
	for i := 0; i < platforms; i++ {
		cc := c
		if i == 1 {
			cc.Platform = "linux/arm64"
		}
		in.Platforms = append(in.Platforms, cc)
	}
	return in
}

func TestHostile_SPDXValidates(t *testing.T) {
	for _, n := range []int{1, 2} {
		in := rvInput(n)
		raw, err := SPDX(in)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := spdxjson.Read(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := spdxlib.ValidateDocument(doc); err != nil {
			t.Errorf("platforms=%d: %v", n, err)
		}
		raw2, _ := SPDX(in)
		if !bytes.Equal(raw, raw2) {
			t.Error("SPDX not deterministic")
		}
		if n == 1 {
			t.Logf("%s", raw[:min(len(raw), 1500)])
		}
	}
	// zero creation time
	in := rvInput(1)
	in.Image.Created = time.Time{}
	raw, _ := SPDX(in)
	var head struct {
		CreationInfo struct{ Created string } `json:"creationInfo"`
	}
	json.Unmarshal(raw, &head)
	t.Logf("zero created -> %q", head.CreationInfo.Created)
}

func TestHostile_CycloneDXUniqueRefs(t *testing.T) {
	for _, n := range []int{1, 2} {
		raw, err := CycloneDX(rvInput(n))
		if err != nil {
			t.Fatal(err)
		}
		var bom cdx.BOM
		if err := cdx.NewBOMDecoder(bytes.NewReader(raw), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
			t.Fatal(err)
		}
		refs := map[string]bool{"image": true}
		for _, c := range *bom.Components {
			if refs[c.BOMRef] {
				t.Errorf("duplicate bom-ref %s", c.BOMRef)
			}
			refs[c.BOMRef] = true
		}
		for _, d := range *bom.Dependencies {
			if !refs[d.Ref] {
				t.Errorf("dependency ref %s names no component", d.Ref)
			}
			seen := map[string]bool{}
			for _, o := range *d.Dependencies {
				if seen[o] {
					t.Errorf("platforms=%d: %s dependsOn %s twice (CycloneDX 1.6 schema: uniqueItems)", n, d.Ref, o)
				}
				seen[o] = true
				if !refs[o] {
					t.Errorf("dependsOn %s names no component", o)
				}
			}
		}
		raw2, _ := CycloneDX(rvInput(n))
		if !bytes.Equal(raw, raw2) {
			t.Error("not deterministic")
		}
	}
}

var _ = sort.Strings
