package buildcontext

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func names(t *testing.T, s Source) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.WriteTar(&buf); err != nil {
		t.Fatal(err)
	}
	var out []string
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hdr.Name)
	}
	return out
}

func mustHash(t *testing.T, s Source) string {
	t.Helper()
	sum, err := s.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return sum.SHA256
}

func TestHashIsDeterministicAndIgnoresMtime(t *testing.T) {
	tree := map[string]string{"Dockerfile": "FROM scratch\nCOPY main /main\n", "main": "binary", "sub/a.txt": "a"}
	first := writeTree(t, tree)
	second := writeTree(t, tree)
	h1 := mustHash(t, Source{Dir: first})
	if h2 := mustHash(t, Source{Dir: second}); h1 != h2 {
		t.Fatalf("same tree in two places hashed differently: %s vs %s", h1, h2)
	}
	if again := mustHash(t, Source{Dir: first}); again != h1 {
		t.Fatalf("hashing twice gave %s then %s", h1, again)
	}
	later := time.Now().Add(48 * time.Hour)
	if err := os.Chtimes(filepath.Join(first, "main"), later, later); err != nil {
		t.Fatal(err)
	}
	if h := mustHash(t, Source{Dir: first}); h != h1 {
		t.Fatalf("mtime-only change changed the hash: %s vs %s", h, h1)
	}
	if err := os.WriteFile(filepath.Join(first, "main"), []byte("binarY"), 0o644); err != nil {
		t.Fatal(err)
	}
	if h := mustHash(t, Source{Dir: first}); h == h1 {
		t.Fatal("content change did not change the hash")
	}
	if err := os.WriteFile(filepath.Join(first, "main"), []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(first, "main"), 0o755); err != nil {
		t.Fatal(err)
	}
	if h := mustHash(t, Source{Dir: first}); h == h1 {
		t.Fatal("mode change (chmod +x) did not change the hash")
	}
}

func TestDockerignore(t *testing.T) {
	root := writeTree(t, map[string]string{
		"Dockerfile":         "FROM scratch",
		".dockerignore":      "# comment\n*.log\nnode_modules\nsecrets/\n!secrets/public.pem\nDockerfile\n",
		"app.go":             "package main",
		"debug.log":          "noise",
		"node_modules/x.js":  "x",
		"secrets/key.pem":    "private",
		"secrets/public.pem": "public",
	})
	got := names(t, Source{Dir: root})
	want := []string{".dockerignore", "Dockerfile", "app.go", "secrets/public.pem"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("archive entries = %v, want %v", got, want)
	}
	before := mustHash(t, Source{Dir: root})
	if err := os.WriteFile(filepath.Join(root, "debug.log"), []byte("more noise"), 0o644); err != nil {
		t.Fatal(err)
	}
	if after := mustHash(t, Source{Dir: root}); after != before {
		t.Fatal("changing an ignored file changed the hash")
	}
}

func TestDockerignorePrunesDirectoriesWithoutExceptions(t *testing.T) {
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch", ".dockerignore": ".git\n", ".git/HEAD": "ref", "src/main.go": "x"})
	got := names(t, Source{Dir: root})
	want := []string{".dockerignore", "Dockerfile", "src/", "src/main.go"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("archive entries = %v, want %v", got, want)
	}
}

func TestSymlinksAreKept(t *testing.T) {
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch", "real": "r"})
	if err := os.Symlink("real", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := (Source{Dir: root}).WriteTar(&buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal("no symlink entry in archive")
		}
		if hdr.Name == "link" {
			if hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "real" {
				t.Fatalf("link entry = %+v", hdr)
			}
			return
		}
	}
}

func TestFilesAndInlineDockerfile(t *testing.T) {
	s := Source{Files: map[string]string{"bin/main": "m", "etc/conf": "c"}, DockerfileInline: "FROM scratch\n"}
	got := names(t, s)
	want := []string{InlineDockerfileName, "bin/", "bin/main", "etc/", "etc/conf"}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("archive entries = %v, want %v", got, want)
	}
	if s.Dockerfile() != InlineDockerfileName {
		t.Fatalf("Dockerfile() = %q", s.Dockerfile())
	}
	h := mustHash(t, s)
	s2 := s
	s2.DockerfileInline = "FROM scratch\nENV A=1\n"
	if mustHash(t, s2) == h {
		t.Fatal("changing the inline Dockerfile did not change the hash")
	}
	sum, err := s.Hash()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 3 || sum.Bytes != int64(len("m")+len("c")+len("FROM scratch\n")) {
		t.Fatalf("summary = %+v", sum)
	}
}

func TestValidate(t *testing.T) {
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch", "docker/Prod.Dockerfile": "FROM scratch"})
	tests := []struct {
		name    string
		src     Source
		wantErr bool
		missing bool
	}{
		{"dir with default Dockerfile", Source{Dir: root}, false, false},
		{"dir with nested Dockerfile", Source{Dir: root, DockerfilePath: "docker/Prod.Dockerfile"}, false, false},
		{"dir without the Dockerfile", Source{Dir: root, DockerfilePath: "nope"}, true, true},
		{"missing dir", Source{Dir: filepath.Join(root, "absent")}, true, false},
		{"file as dir", Source{Dir: filepath.Join(root, "Dockerfile")}, true, false},
		{"dockerfile escapes", Source{Dir: root, DockerfilePath: "../Dockerfile"}, true, false},
		{"absolute dockerfile", Source{Dir: root, DockerfilePath: "/etc/passwd"}, true, false},
		{"files without Dockerfile", Source{Files: map[string]string{"a": "b"}}, true, true},
		{"files with inline", Source{Files: map[string]string{"a": "b"}, DockerfileInline: "FROM x"}, false, false},
		{"file path escapes", Source{Files: map[string]string{"../a": "b"}, DockerfileInline: "FROM x"}, true, false},
		{"neither", Source{}, true, false},
		{"both", Source{Dir: root, Files: map[string]string{}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.src.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			var missing *MissingDockerfileError
			if errors.As(err, &missing) != tt.missing {
				t.Fatalf("MissingDockerfileError = %v, want %v (err %v)", !tt.missing, tt.missing, err)
			}
		})
	}
}

func TestSnapshot(t *testing.T) {
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY app /app\n", "app": "v1"})
	src := Source{Dir: root}
	snap, err := src.Snapshot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Remove()
	if snap.SHA256 != mustHash(t, src) || snap.Dockerfile != "Dockerfile" {
		t.Fatalf("snapshot %+v does not match the source", snap)
	}
	// The snapshot is what was read: later changes do not reach it.
	if err := os.WriteFile(filepath.Join(root, "app"), []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if content, err := snap.ReadFile("app"); err != nil || string(content) != "v1" {
		t.Fatalf("snapshot app = %q, %v", content, err)
	}
	if _, err := snap.ReadFile("missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	var buf bytes.Buffer
	if err := snap.WriteGzip(&buf); err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, gz); err != nil {
		t.Fatal(err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != snap.SHA256 {
		t.Fatalf("gzip stream holds %s, snapshot says %s", got, snap.SHA256)
	}
	if err := snap.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Open(); err == nil {
		t.Fatal("snapshot file still there after Remove")
	}
}

func TestSymlinkedContextDirectory(t *testing.T) {
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\n", "app": "v1"})
	link := filepath.Join(t.TempDir(), "current")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	if got, want := names(t, Source{Dir: link}), names(t, Source{Dir: root}); !reflect.DeepEqual(got, want) || len(got) != 2 {
		t.Fatalf("context through a symlink archived %v, want %v", got, want)
	}
}

func TestDockerfileInsideAnIgnoredDirectory(t *testing.T) {
	root := writeTree(t, map[string]string{
		".dockerignore":         "build/\n",
		"build/Dockerfile":      "FROM scratch\n",
		"build/cache/large.bin": "x",
		"app":                   "v1",
	})
	got := names(t, Source{Dir: root, DockerfilePath: "build/Dockerfile"})
	want := []string{".dockerignore", "app", "build/Dockerfile"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("archived %v, want %v (the Dockerfile is always sent, the rest of build/ is not)", got, want)
	}
}

func TestEquivalentContextFileKeys(t *testing.T) {
	s := Source{Files: map[string]string{"Dockerfile": "FROM scratch\n", "./Dockerfile": "FROM busybox\n"}}
	var dup *DuplicateFileError
	if err := s.Validate(); !errors.As(err, &dup) || dup.Path != "Dockerfile" {
		t.Fatalf("Validate = %v, want a DuplicateFileError for Dockerfile", err)
	}
	if _, err := s.Hash(); err == nil {
		t.Fatal("hashing a context with two keys for one file succeeded")
	}
}
