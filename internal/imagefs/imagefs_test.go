package imagefs

import (
	"archive/tar"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
)

type entry = imagefstest.Entry

func layerOf(t *testing.T, entries ...entry) v1.Layer { return imagefstest.Layer(t, entries...) }

func TestFilesAppliesLayersAndWhiteouts(t *testing.T) {
	img, err := mutate.AppendLayers(empty.Image,
		layerOf(t,
			entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}},
			entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "etc/a", Mode: 0o644}, Content: "a"},
			entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "etc/b", Mode: 0o600, Uid: 7}, Content: "b"},
			entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: "var/cache/", Mode: 0o750}},
			entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "var/cache/x", Mode: 0o644}, Content: "x"},
		),
		layerOf(t,
			entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.a", Mode: 0o644}},
			entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "var/cache/.wh..wh..opq", Mode: 0o644}},
			entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: "usr/bin/sh", Linkname: "busybox", Mode: 0o777}},
		),
	)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["/etc/a"]; ok {
		t.Error("a whited-out file is still there")
	}
	if _, ok := files["/var/cache/x"]; ok {
		t.Error("an opaque directory kept its lower contents")
	}
	if f := files["/var/cache"]; f.Type != "dir" || f.Mode != 0o750 {
		t.Errorf("/var/cache = %v", f)
	}
	if f := files["/etc/b"]; f.Type != "file" || f.UID != 7 || !strings.HasPrefix(f.SHA256, "3e23e8160039") {
		t.Errorf("/etc/b = %v", f)
	}
	if f := files["/usr/bin"]; f.Type != "dir" || f.Mode != 0o755 {
		t.Errorf("a missing parent is not created as a runtime would: %v", f)
	}
	tree, err := Tree(img)
	if err != nil {
		t.Fatal(err)
	}
	if tree["/etc/b"].SHA256 != "" || tree["/usr/bin/sh"].Link != "busybox" {
		t.Errorf("Tree = %v", tree)
	}
}

func TestDiffs(t *testing.T) {
	a := map[string]File{"/x": {Type: "file", Mode: 0o644}, "/y": {Type: "dir", Mode: 0o755}}
	b := map[string]File{"/x": {Type: "file", Mode: 0o600}, "/z": {Type: "dir", Mode: 0o755}}
	d := DiffFiles(a, b)
	if len(d) != 3 || d[0].What != "/x" || d[1].B != "(absent)" || d[2].A != "(absent)" {
		t.Errorf("DiffFiles = %v", d)
	}
	ca := v1.Config{Env: []string{"A=1"}, Labels: map[string]string{"built": "now", "k": "v"}}
	cb := v1.Config{Env: []string{"A=1"}, Labels: map[string]string{"built": "later", "k": "v"}, Volumes: map[string]struct{}{}}
	if d := DiffConfig(ca, cb, "built"); len(d) != 0 {
		t.Errorf("ignored label and empty volumes reported: %v", d)
	}
	cb.Entrypoint = []string{"/app"}
	if d := DiffConfig(ca, cb); len(d) != 2 {
		t.Errorf("DiffConfig = %v, want Entrypoint and Labels", d)
	}
}
