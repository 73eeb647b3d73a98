package buildcontext

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/patternmatcher/ignorefile"
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
	if _, err := s.WriteTar(context.Background(), &buf); err != nil {
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
	sum, err := s.Hash(context.Background())
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
	if _, err := (Source{Dir: root}).WriteTar(context.Background(), &buf); err != nil {
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
	want := []string{InlineDockerfileName, InlineDockerignoreName, "bin/", "bin/main", "etc/", "etc/conf"}
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
	sum, err := s.Hash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 4 || sum.Bytes != int64(len("m")+len("c")+len("FROM scratch\n")+len(inlineIgnoreFile(nil))) {
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
	snap, err := src.Snapshot(context.Background(), t.TempDir())
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
	if _, err := s.Hash(context.Background()); err == nil {
		t.Fatal("hashing a context with two keys for one file succeeded")
	}
}

func TestSnapshotStopsWhenCancelled(t *testing.T) {
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY big /big\n"})
	// A sparse file: large to read, free to create.
	big, err := os.Create(filepath.Join(root, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	big.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		snap, err := Source{Dir: root}.Snapshot(ctx, dir)
		if err == nil {
			_ = snap.Remove()
		}
		done <- err
	}()
	// Cancel once the copy of the large file is under way.
	deadline := time.Now().Add(30 * time.Second)
	for copying := false; !copying; {
		if time.Now().After(deadline) {
			t.Fatal("the snapshot did not start copying")
		}
		time.Sleep(time.Millisecond)
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if info, err := os.Stat(f); err == nil && info.Size() > 1<<20 {
				copying = true
			}
		}
	}
	cancel()
	cancelled := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Snapshot = %v, want context.Canceled", err)
		}
		if waited := time.Since(cancelled); waited > 2*time.Second {
			t.Errorf("Snapshot took %s to stop after the cancel", waited)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Snapshot did not stop after the cancel")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the cancelled snapshot left %v behind", left)
	}
}

func TestDockerfileResolvedInsideTheContext(t *testing.T) {
	const prod = "FROM scratch\nCOPY app /app\n"
	outside := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\n# SECRET\n"})
	root := writeTree(t, map[string]string{"docker/Dockerfile.prod": prod, "app": "a", ".dockerignore": "docker/\n"})
	escape, err := filepath.Rel(root, filepath.Join(outside, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"Dockerfile":          "docker/Dockerfile.prod",
		"Absolute.Dockerfile": "/docker/Dockerfile.prod",
		"d":                   "docker",
		"Host.Dockerfile":     filepath.Join(outside, "Dockerfile"),
		"Escape.Dockerfile":   escape,
		"Loop.Dockerfile":     "Loop.Dockerfile",
		"Dir.Dockerfile":      "docker",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		dockerfile string
		outside    bool // a DockerfileOutsideContextError
		missing    bool // a MissingDockerfileError
		loop       bool
	}{
		{dockerfile: "Dockerfile"},
		{dockerfile: "Absolute.Dockerfile"},
		{dockerfile: "d/Dockerfile.prod"},
		// An absolute target is a path of the context, never of this
		// machine: there is no such file in the context.
		{dockerfile: "Host.Dockerfile", missing: true},
		{dockerfile: "Escape.Dockerfile", outside: true},
		{dockerfile: "Loop.Dockerfile", loop: true},
		{dockerfile: "Dir.Dockerfile", missing: true},
	}
	for _, tt := range tests {
		t.Run(tt.dockerfile, func(t *testing.T) {
			src := Source{Dir: root, DockerfilePath: tt.dockerfile}
			content, err := src.DockerfileContent()
			verr := src.Validate()
			var out *DockerfileOutsideContextError
			var missing *MissingDockerfileError
			switch {
			case tt.outside:
				if !errors.As(err, &out) || !errors.As(verr, &out) {
					t.Fatalf("DockerfileContent = %q, %v; Validate = %v; want a DockerfileOutsideContextError", content, err, verr)
				}
				if strings.Contains(err.Error(), "SECRET") || len(content) != 0 {
					t.Fatalf("the error or content shows the file outside the context: %q, %v", content, err)
				}
			case tt.missing:
				if !errors.As(err, &missing) || !errors.As(verr, &missing) {
					t.Fatalf("DockerfileContent = %q, %v; Validate = %v; want a MissingDockerfileError", content, err, verr)
				}
			case tt.loop:
				if err == nil || verr == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
					t.Fatalf("DockerfileContent = %v, Validate = %v; want a symbolic link loop", err, verr)
				}
			default:
				if err != nil || verr != nil || string(content) != prod {
					t.Fatalf("DockerfileContent = %q, %v; Validate = %v; want the content of docker/Dockerfile.prod", content, err, verr)
				}
				// The build reads the same bytes from the archive, where
				// the link and its target are sent although .dockerignore
				// excludes docker/.
				snap, err := src.Snapshot(context.Background(), t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				defer snap.Remove()
				if got, err := snap.DockerfileContent(); err != nil || string(got) != prod {
					t.Fatalf("Snapshot.DockerfileContent = %q, %v; want the content of docker/Dockerfile.prod", got, err)
				}
			}
			if !tt.outside && !tt.missing && !tt.loop {
				return
			}
			if _, err := src.Hash(context.Background()); err == nil {
				t.Fatal("Hash succeeded")
			}
		})
	}
}

func TestDockerfileSpecificIgnoreFileComesFirst(t *testing.T) {
	tree := map[string]string{
		"Dockerfile":                          "FROM scratch\nCOPY . /app/\n",
		"docker/Dockerfile.prod":              "FROM scratch\nCOPY . /app/\n",
		"docker/Dockerfile.prod.dockerignore": "secret.env\n",
		".dockerignore":                       "*.md\n",
		"secret.env":                          "TOKEN=1",
		"README.md":                           "read me",
		"app":                                 "a",
	}
	root := writeTree(t, tree)
	// docker/Dockerfile.prod.dockerignore, not .dockerignore: secret.env
	// is left out, README.md is sent.
	specific := []string{".dockerignore", "Dockerfile", "README.md", "app", "docker/", "docker/Dockerfile.prod", "docker/Dockerfile.prod.dockerignore"}
	// Dockerfile.dockerignore does not exist: .dockerignore is used.
	general := []string{".dockerignore", "Dockerfile", "app", "docker/", "docker/Dockerfile.prod", "docker/Dockerfile.prod.dockerignore", "secret.env"}
	for _, tt := range []struct {
		name string
		src  Source
		want []string
	}{
		{"dir with docker/Dockerfile.prod", Source{Dir: root, DockerfilePath: "docker/Dockerfile.prod"}, specific},
		{"files with docker/Dockerfile.prod", Source{Files: tree, DockerfilePath: "docker/Dockerfile.prod"}, specific},
		{"dir with Dockerfile", Source{Dir: root}, general},
		{"files with Dockerfile", Source{Files: tree}, general},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(t, tt.src); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("archived %v, want %v", got, tt.want)
			}
		})
	}
	// What the ignore file in use excludes is not part of the hash.
	src := Source{Dir: root, DockerfilePath: "docker/Dockerfile.prod"}
	before := mustHash(t, src)
	if err := os.WriteFile(filepath.Join(root, "secret.env"), []byte("TOKEN=2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if after := mustHash(t, src); after != before {
		t.Fatal("changing a file that docker/Dockerfile.prod.dockerignore excludes changed the hash")
	}
}

func TestSnapshotMarksWhatIsSentOnlyForTheBuilder(t *testing.T) {
	for _, tt := range []struct {
		name   string
		files  map[string]string
		source func(root string) Source
		want   map[string]bool // path: BuilderOnly
	}{
		{
			name:  "excluded Dockerfile and ignore file",
			files: map[string]string{"Dockerfile": "FROM scratch\n", ".dockerignore": "Dockerfile\n.dockerignore\n", "app": "a"},
			want:  map[string]bool{"Dockerfile": true, ".dockerignore": true, "app": false},
		},
		{
			name:  "nothing of the builder's excluded",
			files: map[string]string{"Dockerfile": "FROM scratch\n", ".dockerignore": "*.log\n", "app": "a"},
			want:  map[string]bool{"Dockerfile": false, ".dockerignore": false, "app": false},
		},
		{
			name:   "Dockerfile in an excluded directory",
			files:  map[string]string{"build/Dockerfile": "FROM scratch\n", ".dockerignore": "build\n", "app": "a"},
			source: func(root string) Source { return Source{Dir: root, DockerfilePath: "build/Dockerfile"} },
			want:   map[string]bool{"build/Dockerfile": true, ".dockerignore": false, "app": false},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			src := Source{Dir: root}
			if tt.source != nil {
				src = tt.source(root)
			}
			snap, err := src.Snapshot(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Remove()
			index, err := snap.Index()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for p, e := range index {
				got[p] = e.BuilderOnly
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("BuilderOnly by path = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInlineDockerfileComesWithItsIgnoreFile(t *testing.T) {
	// No newline at the end: the generated file must still read as
	// these patterns and its own.
	tree := map[string]string{".dockerignore": "*.log", "app": "a", "debug.log": "noise"}
	root := writeTree(t, tree)
	const dockerfile = "FROM scratch\nCOPY . /app/\n"
	for _, src := range []Source{
		{Dir: root, DockerfileInline: dockerfile},
		{Files: tree, DockerfileInline: dockerfile},
	} {
		want := []string{".dockerignore", InlineDockerfileName, InlineDockerignoreName, "app"}
		if got := names(t, src); !reflect.DeepEqual(got, want) {
			t.Fatalf("archived %v, want %v", got, want)
		}
		snap, err := src.Snapshot(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Remove()
		content, err := snap.ReadFile(InlineDockerignoreName)
		if err != nil {
			t.Fatal(err)
		}
		patterns, err := ignorefile.ReadAll(bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"*.log", InlineDockerfileName, InlineDockerignoreName}; !reflect.DeepEqual(patterns, want) {
			t.Fatalf("%s holds the patterns %q, want %q", InlineDockerignoreName, patterns, want)
		}
		if got, err := snap.DockerfileContent(); err != nil || string(got) != dockerfile {
			t.Fatalf("DockerfileContent = %q, %v", got, err)
		}
		index, err := snap.Index()
		if err != nil {
			t.Fatal(err)
		}
		for p, e := range index {
			if want := p == InlineDockerfileName || p == InlineDockerignoreName; e.BuilderOnly != want {
				t.Errorf("%s: BuilderOnly = %v, want %v", p, e.BuilderOnly, want)
			}
		}
	}
}

func TestInlineDockerfileNamesAreReserved(t *testing.T) {
	for _, name := range []string{InlineDockerfileName, InlineDockerignoreName} {
		root := writeTree(t, map[string]string{name: "mine", "Dockerfile": "FROM scratch\n"})
		if err := (Source{Dir: root}).Validate(); err != nil {
			t.Fatalf("%s without an inline Dockerfile: %v", name, err)
		}
		for _, src := range []Source{
			{Dir: root, DockerfileInline: "FROM scratch\n"},
			{Files: map[string]string{"./" + name: "mine"}, DockerfileInline: "FROM scratch\n"},
		} {
			if err := src.Validate(); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("Validate of a context holding %s with an inline Dockerfile = %v, want an error naming it", name, err)
			}
		}
	}
}

func TestSnapshotIndexLocatesContents(t *testing.T) {
	// Long and non-ASCII names take PAX records before their headers.
	files := map[string]string{
		"Dockerfile":                         "FROM scratch\n",
		strings.Repeat("long/", 40) + "file": "after a PAX record",
		"données.txt":                        "é",
		"empty":                              "",
		"big":                                strings.Repeat("x", 70000),
	}
	snap, err := Source{Files: files}.Snapshot(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Remove()
	index, err := snap.Index()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		rc, err := snap.OpenEntry(index[name])
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != want {
			t.Errorf("%s: read %.20q, %v; want %.20q", name, got, err, want)
		}
	}
}

func TestIgnoreFileThroughASymlink(t *testing.T) {
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\n", "config/ignore": "config\n*.log\n", "app": "a", "debug.log": "l"})
	if err := os.Symlink("config/ignore", filepath.Join(root, ".dockerignore")); err != nil {
		t.Fatal(err)
	}
	// The link and its target are sent, as the builder reads them.
	if got, want := names(t, Source{Dir: root}), []string{".dockerignore", "Dockerfile", "app", "config/ignore"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("archived %v, want %v", got, want)
	}
	outside := writeTree(t, map[string]string{"ignore": "*\n"})
	if err := os.Symlink(filepath.Join(outside, "ignore"), filepath.Join(root, "Dockerfile.dockerignore")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../elsewhere/ignore", filepath.Join(root, "config", "up")); err != nil {
		t.Fatal(err)
	}
	// An absolute target is read in the context, where it does not
	// exist: .dockerignore applies.
	if got := names(t, Source{Dir: root}); !reflect.DeepEqual(got, []string{".dockerignore", "Dockerfile", "Dockerfile.dockerignore", "app", "config/ignore"}) {
		t.Fatalf("archived %v", got)
	}
	if err := os.Remove(filepath.Join(root, "Dockerfile.dockerignore")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("config/up", filepath.Join(root, "Dockerfile.dockerignore")); err != nil {
		t.Fatal(err)
	}
	if _, err := (Source{Dir: root}).Hash(context.Background()); err == nil || !strings.Contains(err.Error(), "outside the context") {
		t.Fatalf("Hash with an ignore file outside the context = %v", err)
	}
}
