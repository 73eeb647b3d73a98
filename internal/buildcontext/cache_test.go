package buildcontext

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// later is a clock past RacyWindow for files written by the test just now.
func later() time.Time { return time.Now().Add(time.Minute) }

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// requireSame hashes src through the cache and directly, and returns the
// cache's stats.
func requireSame(t *testing.T, c *HashCache, src Source) HashStats {
	t.Helper()
	want, err := src.Hash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, stats, err := c.HashWithStats(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("cached hash %+v, want %+v", got, want)
	}
	return stats
}

func TestHashCacheAnswersAsHashWithoutReading(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM x\nCOPY . /\n", ".dockerignore": "*.log\n", "app/main": "binary", "app/debug.log": "no",
		"build/Dockerfile": "FROM y\n", "build/Dockerfile.dockerignore": "app/\n",
	})
	if err := os.Symlink("main", filepath.Join(dir, "app/current")); err != nil {
		t.Fatal(err)
	}
	sources := map[string]Source{
		"plain":   {Dir: dir},
		"path":    {Dir: dir, DockerfilePath: "build/Dockerfile"},
		"inline":  {Dir: dir, DockerfileInline: "FROM z\nCOPY app /app\n"},
		"inline2": {Dir: dir, DockerfileInline: "FROM z\nCOPY app /other\n"},
	}
	c := &HashCache{Dir: t.TempDir(), Now: later}
	for name, src := range sources {
		if s := requireSame(t, c, src); s.Hit || s.FilesRead == 0 {
			t.Errorf("%s: first hash %+v, want a miss that reads the files", name, s)
		}
	}
	for name, src := range sources {
		if s := requireSame(t, c, src); !s.Hit || s.FilesRead != 0 {
			t.Errorf("%s: second hash %+v, want a hit reading nothing", name, s)
		}
	}
	// Another process: the records are on disk.
	again := &HashCache{Dir: c.Dir, Now: later}
	for name, src := range sources {
		if s := requireSame(t, again, src); !s.Hit {
			t.Errorf("%s: a new cache on the same directory missed", name)
		}
	}
}

// The change the cache must not miss: new content of the same size, with
// the modification time put back. The change time and nothing else
// tells.
func TestHashCacheNoticesContentChangeWithSizeAndMtimeRestored(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM x\n", "main": "version 1"})
	c := &HashCache{Dir: t.TempDir(), Now: later}
	first := requireSame(t, c, Source{Dir: dir})
	if first.Hit {
		t.Fatal("first hash hit an empty cache")
	}
	info, err := os.Stat(filepath.Join(dir, "main"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a change time the file system can tell apart
	if err := os.WriteFile(filepath.Join(dir, "main"), []byte("version 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "main"), info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(dir, "main"))
	if after.Size() != info.Size() || !after.ModTime().Equal(info.ModTime()) {
		t.Fatalf("size and mtime were not restored: %d %v, %d %v", after.Size(), after.ModTime(), info.Size(), info.ModTime())
	}
	if s := requireSame(t, c, Source{Dir: dir}); s.Hit {
		t.Fatal("the cache answered for changed content of the same size and modification time")
	}
}

func TestHashCacheReadsRecentFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM x\n", "main": "m"})
	c := &HashCache{Dir: t.TempDir()} // the real clock: the files are seconds old at most
	for range 3 {
		if s := requireSame(t, c, Source{Dir: dir}); s.Hit || s.FilesRead != 2 {
			t.Fatalf("files written within RacyWindow: %+v, want both read every time", s)
		}
	}
	c.Now = later
	requireSame(t, c, Source{Dir: dir})
	if s := requireSame(t, c, Source{Dir: dir}); !s.Hit {
		t.Fatal("settled files were read again")
	}
}

func TestHashCacheIgnoresABrokenRecord(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM x\n"})
	c := &HashCache{Dir: t.TempDir(), Now: later}
	requireSame(t, c, Source{Dir: dir})
	root, _ := filepath.EvalSymlinks(dir)
	if err := os.WriteFile(c.recordPath(root), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := requireSame(t, &HashCache{Dir: c.Dir, Now: later}, Source{Dir: dir}); s.Hit {
		t.Fatal("a broken record was used")
	}
}

func TestHashCacheHashesContextsInParallel(t *testing.T) {
	c := &HashCache{Dir: t.TempDir(), Now: later}
	var dirs []string
	for i := range 8 {
		d := t.TempDir()
		writeFiles(t, d, map[string]string{"Dockerfile": "FROM x\n", "main": fmt.Sprint("binary ", i)})
		dirs = append(dirs, d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(dirs))
	for range 3 {
		for _, d := range dirs {
			wg.Go(func() {
				want, err := Source{Dir: d}.Hash(context.Background())
				if err != nil {
					errs <- err
					return
				}
				if got, err := c.Hash(context.Background(), Source{Dir: d}); err != nil || got != want {
					errs <- fmt.Errorf("%s: %v %+v, want %+v", d, err, got, want)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHashCacheGenerated applies seeded random edits to a context (new
// content of the same size with the times put back, touches, chmods,
// renames, new and deleted files, links, ignore file changes) and
// requires after each one exactly the hash of an uncached read.
func TestHashCacheGenerated(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	names := []string{"a", "b", "sub/c", "sub/d.log", "sub/deep/e", "f.log"}
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM x\n"})
	c := &HashCache{Dir: t.TempDir(), Now: later}
	content := func() string { return fmt.Sprintf("%08x", r.Uint32()) } // always 8 bytes
	for step := range 200 {
		// Change times come from a coarse clock (a few milliseconds): two
		// writes within one tick are what RacyWindow is for, and the test's
		// clock skips that window.
		time.Sleep(5 * time.Millisecond)
		name := filepath.Join(dir, filepath.FromSlash(names[r.IntN(len(names))]))
		var op string
		switch r.IntN(7) {
		case 0, 1:
			op = "same-size rewrite, times restored"
			info, err := os.Stat(name)
			writeFiles(t, dir, map[string]string{mustRel(t, dir, name): content()})
			if err == nil {
				_ = os.Chtimes(name, info.ModTime(), info.ModTime())
			}
		case 2:
			op = "touch"
			now := time.Now()
			_ = os.Chtimes(name, now, now)
		case 3:
			op = "chmod"
			_ = os.Chmod(name, os.FileMode(0o600+r.IntN(2)*0o155))
		case 4:
			op = "delete"
			_ = os.Remove(name)
		case 5:
			op = "rename onto"
			other := filepath.Join(dir, filepath.FromSlash(names[r.IntN(len(names))]))
			_ = os.Rename(other, name)
		case 6:
			op = "ignore file"
			writeFiles(t, dir, map[string]string{".dockerignore": []string{"*.log\n", "sub/deep\n", "", "!f.log\n*.log\n"}[r.IntN(4)]})
		}
		want, err := Source{Dir: dir}.Hash(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Hash(context.Background(), Source{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("step %d (%s %s): cached %s, want %s (seed %d)", step, op, name, got.SHA256, want.SHA256, seed)
		}
	}
}

func mustRel(t *testing.T, base, p string) string {
	t.Helper()
	rel, err := filepath.Rel(base, p)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(rel)
}
