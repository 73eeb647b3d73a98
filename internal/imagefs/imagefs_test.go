package imagefs

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type entry struct {
	hdr     tar.Header
	content string
}

func layerOf(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.content))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.content); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFilesAppliesLayersAndWhiteouts(t *testing.T) {
	img, err := mutate.AppendLayers(empty.Image,
		layerOf(t,
			entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}},
			entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "etc/a", Mode: 0o644}, content: "a"},
			entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "etc/b", Mode: 0o600, Uid: 7}, content: "b"},
			entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "var/cache/", Mode: 0o750}},
			entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "var/cache/x", Mode: 0o644}, content: "x"},
		),
		layerOf(t,
			entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.a", Mode: 0o644}},
			entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "var/cache/.wh..wh..opq", Mode: 0o644}},
			entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "usr/bin/sh", Linkname: "busybox", Mode: 0o777}},
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
