package buildcontext

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestRegularFiles: the files a context sends, as the archive sends
// them, listed without archiving, from the source and from a snapshot.
func TestRegularFiles(t *testing.T) {
	dir := t.TempDir()
	for p, c := range map[string]string{"Dockerfile": "FROM b\n", ".dockerignore": "*.log\nDockerfile\n", "bin/main": "\x7fELF", "debug.log": "no"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := Source{Dir: dir}
	fromSource, err := src.RegularFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Snapshot(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Remove()
	fromSnapshot, err := snap.RegularFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string][]File{"source": fromSource, "snapshot": fromSnapshot} {
		var paths []string
		builderOnly := map[string]bool{}
		for _, f := range files {
			paths = append(paths, f.Path)
			builderOnly[f.Path] = f.BuilderOnly
			if f.Path == "bin/main" {
				r, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				head := make([]byte, 4)
				if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
					t.Fatal(err)
				}
				r.Close()
				if string(head) != "\x7fELF" {
					t.Errorf("%s: bin/main reads %q", name, head)
				}
			}
		}
		if want := []string{".dockerignore", "Dockerfile", "bin/main"}; !reflect.DeepEqual(paths, want) {
			t.Errorf("%s: files %v, want %v", name, paths, want)
		}
		if !builderOnly["Dockerfile"] || builderOnly["bin/main"] {
			t.Errorf("%s: builder-only %v", name, builderOnly)
		}
	}
}
