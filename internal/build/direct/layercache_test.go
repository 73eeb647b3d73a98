package direct

// The layer cache under faults: not writable, a layer damaged on disk
// (same size, truncated, removed), concurrent builds of one layer.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

func cacheSpec(payload string) build.Spec {
	spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/base:1\nCOPY a /a\n", "a": payload})
	spec.Executor = build.ExecutorDirect
	return spec
}

// verifyPushed pulls latest and reads every layer fully (ggcr verifies
// the digest while reading).
func verifyPushed(t *testing.T, host, repo, want string) {
	t.Helper()
	ref, _ := name.ParseReference(host+"/"+strings.TrimPrefix(repo, clusterRegistry+"/")+":latest", name.Insecure)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	d, _ := img.Digest()
	if want != "" && d.String() != want {
		t.Errorf("latest is %s, want %s", d, want)
	}
	layers, _ := img.Layers()
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Errorf("layer %d: %v", i, err)
			continue
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("layer %d content does not match its digest: %v", i, err)
		}
		rc.Close()
		u, err := l.Uncompressed()
		if err != nil {
			t.Errorf("layer %d uncompressed: %v", i, err)
			continue
		}
		if _, err := io.Copy(io.Discard, u); err != nil {
			t.Errorf("layer %d uncompressed read: %v", i, err)
		}
		u.Close()
	}
}

// (7) A cache directory that cannot be created / written: a direct
// build (and its prediction) should still work, without the cache.
func TestLayerCache_NotWritable(t *testing.T) {
	e, _, host := setup(t)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.LayerCacheDir = filepath.Join(file, "layers")
	spec := cacheSpec("x")
	if _, err := predictWith(e, spec); err != nil {
		t.Errorf("predict with an unwritable layer cache: %v", err)
	}
	res, err := buildWith(e, spec)
	if err != nil {
		t.Fatalf("build with an unwritable layer cache: %v", err)
	}
	verifyPushed(t, host, spec.Repository, res.Digest)
}

// (7) A cached layer corrupted without changing its size: the build
// must not push a broken layer, and should recover (rebuild the layer).
func TestLayerCache_CorruptedSameSize(t *testing.T) {
	e, _, host := setup(t)
	e.LayerCacheDir = t.TempDir()
	spec := cacheSpec("corrupt me")
	predicted, err := predictWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(e.LayerCacheDir, "*.tar.gz"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	for i := len(raw) / 2; i < len(raw)/2+8 && i < len(raw); i++ {
		raw[i] ^= 0xff
	}
	if err := os.WriteFile(files[0], raw, 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Pin = pinOf(predicted)
	res, err := buildWith(e, spec)
	if err != nil {
		t.Errorf("pinned build after the cached layer was corrupted: %v", err)
	} else {
		verifyPushed(t, host, spec.Repository, predicted.Digest)
	}
	// Does it recover on the next try?
	spec.Pin = nil
	if _, err := buildWith(e, spec); err != nil {
		t.Errorf("second build after corruption still fails: %v", err)
	}
	_ = res
}

// (7) A truncated cached layer: rebuilt, pushed correct.
func TestLayerCache_Truncated(t *testing.T) {
	e, _, host := setup(t)
	e.LayerCacheDir = t.TempDir()
	spec := cacheSpec("truncate me")
	predicted, err := predictWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(e.LayerCacheDir, "*.tar.gz"))
	if err := os.Truncate(files[0], 10); err != nil {
		t.Fatal(err)
	}
	spec.Pin = pinOf(predicted)
	if _, err := buildWith(e, spec); err != nil {
		t.Fatalf("build after truncation: %v", err)
	}
	verifyPushed(t, host, spec.Repository, predicted.Digest)
}

// (7) A layer file removed between the plan and the apply (meta left).
func TestLayerCache_LayerRemovedMetaLeft(t *testing.T) {
	e, _, host := setup(t)
	e.LayerCacheDir = t.TempDir()
	spec := cacheSpec("remove me")
	predicted, err := predictWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(e.LayerCacheDir, "*.tar.gz"))
	os.Remove(files[0])
	spec.Pin = pinOf(predicted)
	if _, err := buildWith(e, spec); err != nil {
		t.Fatalf("build after removal: %v", err)
	}
	verifyPushed(t, host, spec.Repository, predicted.Digest)
}

// (7) Concurrent builds and predictions of identical layers into one
// cache: all succeed with one digest, what is pushed is intact.
func TestLayerCache_Concurrent(t *testing.T) {
	e, _, host := setup(t)
	e.LayerCacheDir = t.TempDir()
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	var wg sync.WaitGroup
	digests := make([]string, 12)
	errs := make([]error, 12)
	for i := range digests {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			spec := cacheSpec(big)
			spec.Repository = fmt.Sprintf("%s/app%d", clusterRegistry, i%3)
			var res *build.Result
			var err error
			if i%2 == 0 {
				res, err = predictWith(e, spec)
			} else {
				res, err = buildWith(e, spec)
			}
			if err == nil {
				digests[i] = res.Digest
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("#%d: %v", i, err)
		}
		if digests[i] != digests[0] {
			t.Errorf("#%d digest %s, #0 %s", i, digests[i], digests[0])
		}
	}
	for i := 0; i < 3; i++ {
		verifyPushed(t, host, fmt.Sprintf("%s/app%d", clusterRegistry, i), digests[0])
	}
	left, _ := filepath.Glob(filepath.Join(e.LayerCacheDir, "onesbuild-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left in the cache: %v", left)
	}
}

var _ = context.Background

// OpenCachedLayer gives, for each layer a build added, the very blob it
// pushed, and nothing for a digest the cache does not hold under that
// diff ID.
func TestOpenCachedLayerIsThePushedBlob(t *testing.T) {
	e, _, host := setup(t)
	e.LayerCacheDir = t.TempDir()
	spec := cacheSpec("opened")
	res, err := buildWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, l := range pushedLayers(t, host, spec.Repository, res.Digest) {
		diffID, _ := l.DiffID()
		digest, _ := l.Digest()
		if r, ok := OpenCachedLayer(e.LayerCacheDir, diffID, digest, true); ok {
			r.Close()
			t.Errorf("a build that kept no tars opened %s as a tar", diffID)
		}
		blob, ok := OpenCachedLayer(e.LayerCacheDir, diffID, digest, false)
		if !ok {
			continue
		}
		opened++
		got, _, err := v1.SHA256(blob)
		blob.Close()
		if err != nil || got != digest {
			t.Errorf("the cached blob of %s hashes to %s (%v)", digest, got, err)
		}
		if _, ok := OpenCachedLayer(e.LayerCacheDir, diffID, diffID, false); ok {
			t.Errorf("a layer opened under a digest it does not have")
		}
	}
	if opened != 1 {
		t.Errorf("%d layers opened; want the one COPY added", opened)
	}
	if _, ok := OpenCachedLayer("", v1.Hash{}, v1.Hash{}, true); ok {
		t.Error("no cache directory opened a layer")
	}
}

// A build that keeps its layers' tars pushes the same image as one that
// does not, and OpenCachedLayer then opens each added layer as its tar:
// the bytes of its diff ID. Written by a plan's prediction, the tar is
// there for the apply's SBOM as well.
func TestKeptLayerTarsAreTheLayersDiffIDs(t *testing.T) {
	e, _, host := setup(t)
	e.LayerCacheDir = t.TempDir()
	plain, err := buildWith(e, cacheSpec("tars"))
	if err != nil {
		t.Fatal(err)
	}
	e.LayerCacheDir = t.TempDir()
	spec := cacheSpec("tars")
	spec.KeepLayerTars = true
	predicted, err := build.SnapshotContext{Next: e}.Predict(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := buildWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	if kept.Digest != plain.Digest || predicted.Digest != plain.Digest {
		t.Fatalf("keeping tars changed the image: %s (predicted %s), without %s", kept.Digest, predicted.Digest, plain.Digest)
	}
	tars := 0
	for _, l := range pushedLayers(t, host, spec.Repository, kept.Digest) {
		diffID, _ := l.DiffID()
		digest, _ := l.Digest()
		r, ok := OpenCachedLayer(e.LayerCacheDir, diffID, digest, true)
		if !ok {
			continue
		}
		got, _, err := v1.SHA256(r)
		r.Close()
		if err != nil || got != diffID {
			t.Errorf("the tar of layer %s hashes to %s (%v)", diffID, got, err)
		}
		if blob, ok := OpenCachedLayer(e.LayerCacheDir, diffID, digest, false); !ok {
			t.Errorf("the compressed copy of %s is not there beside its tar", diffID)
		} else {
			blob.Close()
		}
		tars++
	}
	if tars != 1 {
		t.Errorf("%d tars kept; want the one COPY added", tars)
	}
	left, _ := filepath.Glob(filepath.Join(e.LayerCacheDir, "tars", "onesbuild-tar-*"))
	if len(left) != 0 {
		t.Errorf("temporary tars left in the cache: %v", left)
	}
}

func pushedLayers(t *testing.T, host, repo, digest string) []v1.Layer {
	t.Helper()
	ref, _ := name.ParseReference(host+"/"+strings.TrimPrefix(repo, clusterRegistry+"/")+"@"+digest, name.Insecure)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return layers
}

// Kept tars older than a day go when a process first uses the cache;
// younger ones and the compressed layers (kept for a week) stay.
func TestKeptTarsArePrunedAfterADay(t *testing.T) {
	dir := t.TempDir()
	tars := filepath.Join(dir, "tars")
	if err := os.MkdirAll(tars, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-layerTarMaxAge - time.Hour)
	files := map[string]bool{ // path → kept
		filepath.Join(tars, "old.tar"):     false,
		filepath.Join(tars, "new.tar"):     true,
		filepath.Join(dir, "old.tar.gz"):   true,
		filepath.Join(dir, "ancient.json"): false,
	}
	for p := range files {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chtimes(filepath.Join(tars, "old.tar"), old, old)
	_ = os.Chtimes(filepath.Join(dir, "old.tar.gz"), old, old)
	ancient := time.Now().Add(-layerCacheMaxAge - time.Hour)
	_ = os.Chtimes(filepath.Join(dir, "ancient.json"), ancient, ancient)

	(&Executor{LayerCacheDir: dir}).layerCache(true)
	for p, kept := range files {
		if _, err := os.Stat(p); (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v", p, err == nil, kept)
		}
	}
}
