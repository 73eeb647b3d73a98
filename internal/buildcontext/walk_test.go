package buildcontext

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"testing/fstest"
)

// walkNames archives fsys as a context directory with the Dockerfile
// df and returns the entries' names, as names does for a Source.
func walkNames(fsys fs.FS, df string) ([]string, error) {
	sel, err := Source{Dir: "(test)", DockerfilePath: df}.selection(fsTree(fsys))
	if err != nil {
		return nil, err
	}
	entries, err := walkEntries(context.Background(), fsys, sel)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.name)
	}
	sort.Strings(out)
	return out, nil
}

// unreadableDir is a file system whose directory dir cannot be listed,
// as a directory of mode 000 owned by someone else cannot (the tests
// may run as root, who lists it all the same).
type unreadableDir struct {
	fstest.MapFS
	dir string
}

func (u unreadableDir) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == u.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrPermission}
	}
	return u.MapFS.ReadDir(name)
}

func file(content string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(content), Mode: 0o644} }

func TestUnreadableIgnoredDirectoryIsNotRead(t *testing.T) {
	tests := []struct {
		name   string
		ignore string
		want   []string // nil: the walk must fail
	}{
		{"no negation", "private\n", []string{".dockerignore", "Dockerfile", "app.log"}},
		// A negation that cannot match below private/ does not make the
		// walk read it.
		{"negation elsewhere", "private\n*.log\n!app.log\n", []string{".dockerignore", "Dockerfile", "app.log"}},
		{"negation in a sibling", "private\nother/\n!other/keep\n", []string{".dockerignore", "Dockerfile", "app.log"}},
		{"negation of one component", "private\n!*.log\n", []string{".dockerignore", "Dockerfile", "app.log"}},
		// !private matches the directory itself, after the pattern that
		// excludes it: the directory is sent, and read.
		{"negation of the directory", "private\n!private\n", nil},
		// A negation that may match below private/ has to look: the
		// directory's content decides what is sent.
		{"negation below", "private\n!private/public.pem\n", nil},
		{"negation with **", "private\n!**/public.pem\n", nil},
		{"negation with a wildcard", "private\n!priv*/public.pem\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := unreadableDir{MapFS: fstest.MapFS{
				"Dockerfile":         file("FROM scratch\n"),
				".dockerignore":      file(tt.ignore),
				"app.log":            file("log"),
				"private/key.pem":    file("secret"),
				"private/public.pem": file("public"),
			}, dir: "private"}
			got, err := walkNames(fsys, "Dockerfile")
			if tt.want == nil {
				if !errors.Is(err, fs.ErrPermission) {
					t.Fatalf("archived %v, %v; want the unreadable directory's error", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("archived %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestUnreadableIgnoredDirectoryBelowANegatedParent(t *testing.T) {
	// !sub matches sub/private's parent only, and comes before the
	// pattern that excludes sub/private: nothing below it is re-included.
	fsys := unreadableDir{MapFS: fstest.MapFS{
		"Dockerfile":          file("FROM scratch\n"),
		".dockerignore":       file("sub\n!sub\nsub/private\n"),
		"sub/private/key.pem": file("secret"),
		"sub/app":             file("a"),
	}, dir: "sub/private"}
	got, err := walkNames(fsys, "Dockerfile")
	if want := []string{".dockerignore", "Dockerfile", "sub/", "sub/app"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("archived %v, %v; want %v", got, err, want)
	}
}

func TestUnreadableIgnoredDirectoryOnDisk(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a directory of mode 000; TestUnreadableIgnoredDirectoryIsNotRead covers this with a file system that refuses")
	}
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\n", ".dockerignore": "cache\n*.log\n!app.log\n", "cache/x": "x", "app.log": "l"})
	cache := filepath.Join(root, "cache")
	if err := os.Chmod(cache, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(cache, 0o755) })
	got := names(t, Source{Dir: root})
	if want := []string{".dockerignore", "Dockerfile", "app.log"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("archived %v, want %v", got, want)
	}
}

func TestNamesThatAreNotUTF8(t *testing.T) {
	// os.DirFS refuses such names; Linux allows them, and a context
	// unpacked from an old archive may have them.
	const name = "caf\xe9"
	root := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\n", name + "/menu": "m"})
	if got, want := names(t, Source{Dir: root}), []string{"Dockerfile", name + "/", name + "/menu"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("archived %q, want %q", got, want)
	}
}
