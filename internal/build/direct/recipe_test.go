package direct

// The layer cache's recipes: a layer found again from the snapshot's hash
// and the entries' headers, without reading the snapshot.

import (
	"archive/tar"
	"context"
	"os"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// recipeLayer is one file's layer from a snapshot of files.
type recipeLayer struct {
	snap  *buildcontext.Snapshot
	tree  *tree
	paths []string
	ctx   *contextFiles
}

func newRecipeLayer(t *testing.T, files map[string]string, mode int64) recipeLayer {
	t.Helper()
	snap, err := buildcontext.Source{Files: files, DockerfileInline: "FROM scratch\nCOPY a /a\n"}.Snapshot(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snap.Remove() })
	index, err := snap.Index()
	if err != nil {
		t.Fatal(err)
	}
	tr := newTree(nil)
	tr.set("/a", &node{Type: tar.TypeReg, Mode: mode, src: "a", size: int64(len(files["a"]))})
	return recipeLayer{snap: snap, tree: tr, paths: tr.takeChanges(), ctx: newContextFiles(index)}
}

func (r recipeLayer) write(t *testing.T, c *layerCache) (v1.Layer, error) {
	t.Helper()
	l, cleanup, err := writeLayer(c, r.tree, r.paths, r.snap, r.ctx, types.DockerLayer)
	t.Cleanup(cleanup)
	return l, err
}

func digests(t *testing.T, l v1.Layer) (digest, diffID v1.Hash) {
	t.Helper()
	digest, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	diffID, err = l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return digest, diffID
}

// The apply after a plan builds from a snapshot with the plan's hash: its
// layer is the plan's, found without reading a byte of the snapshot.
func TestLayerRecipeFindsTheLayerWithoutReadingTheSnapshot(t *testing.T) {
	cache := &layerCache{dir: t.TempDir()}
	first := newRecipeLayer(t, map[string]string{"a": "the service's binary"}, 0o755)
	l, err := first.write(t, cache)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, wantDiffID := digests(t, l)

	again := newRecipeLayer(t, map[string]string{"a": "the service's binary"}, 0o755)
	if again.snap.SHA256 != first.snap.SHA256 {
		t.Fatalf("the same files gave snapshots %s and %s", again.snap.SHA256, first.snap.SHA256)
	}
	// Without its archive, only the recipe can give the layer.
	if err := again.snap.Remove(); err != nil {
		t.Fatal(err)
	}
	l, err = again.write(t, cache)
	if err != nil {
		t.Fatalf("the second build of the same snapshot read it: %v", err)
	}
	if digest, diffID := digests(t, l); digest != wantDigest || diffID != wantDiffID {
		t.Errorf("the recipe gave %s (diff ID %s), the first build %s (%s)", digest, diffID, wantDigest, wantDiffID)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
}

// A recipe is the snapshot and the headers: another content of the same
// size, or the same content with another mode, is another layer.
func TestLayerRecipeIsNotReusedForOtherContentOrHeaders(t *testing.T) {
	cache := &layerCache{dir: t.TempDir()}
	base := newRecipeLayer(t, map[string]string{"a": "version 1"}, 0o755)
	l, err := base.write(t, cache)
	if err != nil {
		t.Fatal(err)
	}
	_, baseDiffID := digests(t, l)
	for name, other := range map[string]recipeLayer{
		"other content, same size": newRecipeLayer(t, map[string]string{"a": "version 2"}, 0o755),
		"same content, other mode": newRecipeLayer(t, map[string]string{"a": "version 1"}, 0o700),
	} {
		l, err := other.write(t, cache)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, diffID := digests(t, l)
		uncached, err := other.write(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, want := digests(t, uncached)
		if diffID == baseDiffID || diffID != want {
			t.Errorf("%s: diff ID %s, want %s (the first layer's is %s)", name, diffID, want, baseDiffID)
		}
	}
}

// A recipe whose layer left the cache, or whose kept tar is gone, gives
// way to the tar: the layer is written again, right.
func TestLayerRecipeWithoutItsLayerWritesItAgain(t *testing.T) {
	for _, keepTars := range []bool{false, true} {
		cache := &layerCache{dir: t.TempDir(), keepTars: keepTars}
		r := newRecipeLayer(t, map[string]string{"a": "payload"}, 0o644)
		l, err := r.write(t, cache)
		if err != nil {
			t.Fatal(err)
		}
		wantDigest, diffID := digests(t, l)
		if keepTars {
			if err := os.Remove(tarPath(cache.dir, diffID)); err != nil {
				t.Fatal(err)
			}
		} else {
			layer, _ := cache.paths(diffID)
			if err := os.Remove(layer); err != nil {
				t.Fatal(err)
			}
		}
		l, err = r.write(t, cache)
		if err != nil {
			t.Fatalf("keepTars=%t: %v", keepTars, err)
		}
		if digest, _ := digests(t, l); digest != wantDigest {
			t.Errorf("keepTars=%t: written again as %s, want %s", keepTars, digest, wantDigest)
		}
		if keepTars && !cache.hasTar(diffID) {
			t.Errorf("the kept tar was not written again")
		}
		layer, _ := cache.paths(diffID)
		if _, err := os.Stat(layer); err != nil {
			t.Errorf("keepTars=%t: the layer is not cached again: %v", keepTars, err)
		}
		if entries, _ := os.ReadDir(recipeDir(cache.dir)); len(entries) != 1 {
			t.Errorf("keepTars=%t: %d recipes, want 1", keepTars, len(entries))
		}
	}
}

// A snapshot without a known hash has no recipe: two of them with the
// same headers are never taken for each other.
func TestLayerRecipeNeedsTheSnapshotsHash(t *testing.T) {
	cache := &layerCache{dir: t.TempDir()}
	first := newRecipeLayer(t, map[string]string{"a": "version 1"}, 0o644)
	second := newRecipeLayer(t, map[string]string{"a": "version 2"}, 0o644)
	first.snap.SHA256, second.snap.SHA256 = "", ""
	l, err := first.write(t, cache)
	if err != nil {
		t.Fatal(err)
	}
	_, firstDiffID := digests(t, l)
	l, err = second.write(t, cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, diffID := digests(t, l); diffID == firstDiffID {
		t.Errorf("two snapshots without a hash gave one layer, %s", diffID)
	}
	if entries, _ := os.ReadDir(recipeDir(cache.dir)); len(entries) != 0 {
		t.Errorf("%d recipes for snapshots without a hash, want none", len(entries))
	}
}

// A build that finds a kept tar through its recipe touches it, so that
// the next process's pruning does not remove what the build relies on.
func TestLayerRecipeTouchesTheKeptTar(t *testing.T) {
	r := newRecipeLayer(t, map[string]string{"a": "payload"}, 0o644)
	cache := &layerCache{dir: t.TempDir(), keepTars: true}
	l, err := r.write(t, cache)
	if err != nil {
		t.Fatal(err)
	}
	_, diffID := digests(t, l)
	old := time.Now().Add(-layerTarMaxAge + time.Minute)
	if err := os.Chtimes(tarPath(cache.dir, diffID), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := r.write(t, cache); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(tarPath(cache.dir, diffID))
	if err != nil {
		t.Fatal(err)
	}
	if fi.ModTime().Before(time.Now().Add(-time.Hour)) {
		t.Errorf("the kept tar the build relied on is still dated %s", fi.ModTime().Format(time.RFC3339))
	}
}
