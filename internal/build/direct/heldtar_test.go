package direct

// A new layer's tar held in memory between its hash and its compression.

import (
	"archive/tar"
	"os"
	"strings"
	"testing"
)

// The layer compressed from the held tar is the layer compressed from
// the snapshot, and every byte held is given back, whether the cache had
// the layer or not.
func TestHeldTarGivesTheLayerTheSnapshotGives(t *testing.T) {
	if heldTars.left != heldTarBudget {
		t.Fatalf("%d bytes held before the test", heldTarBudget-heldTars.left)
	}
	r := newRecipeLayer(t, map[string]string{"a": "a service's binary, held"}, 0o755)
	held, err := r.write(t, &layerCache{dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if heldTars.left != heldTarBudget {
		t.Errorf("%d bytes still held after a new layer", heldTarBudget-heldTars.left)
	}
	streamed, err := r.write(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	heldDigest, heldDiffID := digests(t, held)
	streamedDigest, streamedDiffID := digests(t, streamed)
	if heldDigest != streamedDigest || heldDiffID != streamedDiffID {
		t.Errorf("held: %s (diff ID %s), from the snapshot: %s (%s)", heldDigest, heldDiffID, streamedDigest, streamedDiffID)
	}

	// The budget spent by others: the layer is written from the snapshot.
	other := newRecipeLayer(t, map[string]string{"a": "another binary, not held"}, 0o755)
	heldTars.left = 0
	l, err := other.write(t, &layerCache{dir: t.TempDir()})
	heldTars.left = heldTarBudget
	if err != nil {
		t.Fatalf("with nothing left to hold: %v", err)
	}
	want, err := other.write(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := digests(t, want)
	if got, _ := digests(t, l); got != wantDigest {
		t.Errorf("with nothing left to hold: %s, want %s", got, wantDigest)
	}

	// A layer the cache has: hashed, held, given back.
	cache := &layerCache{dir: t.TempDir()}
	if _, err := other.write(t, cache); err != nil {
		t.Fatal(err)
	}
	if err := removeRecipes(cache); err != nil {
		t.Fatal(err)
	}
	if _, err := other.write(t, cache); err != nil {
		t.Fatal(err)
	}
	if heldTars.left != heldTarBudget {
		t.Errorf("%d bytes still held after a cached layer", heldTarBudget-heldTars.left)
	}
}

// Only a layer of at most heldTarMax, with room left, is held.
func TestHoldTarOnlyHoldsWhatFits(t *testing.T) {
	tr := newTree(nil)
	tr.set("/small", &node{Type: tar.TypeReg, Mode: 0o644, src: "small", size: 1 << 20})
	tr.set("/large", &node{Type: tar.TypeReg, Mode: 0o644, src: "large", size: heldTarMax})
	if h := holdTar(tr, []string{"/large"}); h != nil {
		h.release()
		t.Errorf("a layer of heldTarMax bytes of content was held")
	}
	h := holdTar(tr, []string{"/small"})
	if h == nil {
		t.Fatal("a 1 MiB layer was not held")
	}
	if h.taken <= 1<<20 || heldTars.left != heldTarBudget-h.taken {
		t.Errorf("holding took %d bytes, the budget has %d of %d left", h.taken, heldTars.left, heldTarBudget)
	}
	h.release()
	h.release()
	if heldTars.left != heldTarBudget {
		t.Errorf("released twice: the budget has %d of %d", heldTars.left, heldTarBudget)
	}
}

func removeRecipes(c *layerCache) error { return os.RemoveAll(recipeDir(c.dir)) }

// A tar that outgrows its reservation stops being held: nothing past
// the reserved bytes is kept, and nothing is half kept.
func TestHeldTarStopsAtItsReservation(t *testing.T) {
	h := &heldTar{buf: make([]byte, 0, 8), taken: 8}
	for _, p := range []string{"12345", "678"} {
		if n, err := h.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if h.overflow || string(h.buf) != "12345678" {
		t.Fatalf("within the reservation: overflow %t, held %q", h.overflow, h.buf)
	}
	if n, err := h.Write([]byte("9")); n != 1 || err != nil {
		t.Fatalf("Write past the reservation = %d, %v: the hash beside it must go on", n, err)
	}
	if !h.overflow || h.buf != nil {
		t.Errorf("past the reservation: overflow %t, still holding %q", h.overflow, h.buf)
	}
}

// The reservation is at least what archive/tar writes, long names and
// links (extended headers) included.
func TestHoldTarReservesWhatTheTarTakes(t *testing.T) {
	tr := newTree(nil)
	long := strings.Repeat("n", 300)
	tr.set("/"+long, &node{Type: tar.TypeSymlink, Mode: 0o777, Link: strings.Repeat("t", 8000)})
	tr.set("/dir", &node{Type: tar.TypeDir, Mode: 0o755, UID: 1 << 22, GID: 1 << 22})
	tr.set("/dir/"+long, &node{Type: tar.TypeReg, Mode: 0o644, src: "a", size: 1000})
	paths := tr.takeChanges()
	snap := newRecipeLayer(t, map[string]string{"a": strings.Repeat("x", 1000)}, 0o644)
	cache := &layerCache{dir: t.TempDir()}
	_, held, err := cache.hashTar(tr, paths, snap.snap, snap.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.release()
	if held == nil {
		t.Fatal("the tar was not held")
	}
	if int64(cap(held.buf)) != held.taken || len(held.buf) == 0 {
		t.Errorf("held %d bytes in a buffer of %d for a reservation of %d", len(held.buf), cap(held.buf), held.taken)
	}
}
