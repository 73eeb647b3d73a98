package direct

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

func predictWith(e *Executor, spec build.Spec) (*build.Result, error) {
	return build.SnapshotContext{Next: e}.Predict(context.Background(), spec)
}

// pinOf is what a plan that predicted res hands the apply.
func pinOf(res *build.Result) *build.Pin {
	return &build.Pin{ContextSHA256: res.ContextSHA256, BaseDigest: res.BaseImageDigest, Digest: res.Digest}
}

// TestPredictIsWhatTheBuildPushes: for one platform and for two, the
// prediction pushes nothing, and the build pinned by it pushes exactly
// the predicted image, base and platforms' digests.
func TestPredictIsWhatTheBuildPushes(t *testing.T) {
	for _, platforms := range [][]string{nil, {"linux/arm64", "linux/amd64"}} {
		e, counter, host := setup(t)
		e.LayerCacheDir = t.TempDir()
		pushMultiPlatformBase(t, host)
		spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/multi:1\nCOPY a /a\nENV X=1\n", "a": "payload"})
		spec.Executor = build.ExecutorDirect
		spec.Platform = "linux/amd64"
		if platforms != nil {
			spec.Platform, spec.Platforms = "", platforms
		}
		counter.reset()
		predicted, err := predictWith(e, spec)
		if err != nil {
			t.Fatalf("%v: predict: %v", platforms, err)
		}
		if len(counter.uploaded) != 0 {
			t.Errorf("%v: the prediction uploaded %v", platforms, counter.uploaded)
		}
		if _, err := e.Registry.ResolveTag(context.Background(), spec.Repository, "latest"); err == nil {
			t.Errorf("%v: the prediction pushed a tag", platforms)
		}
		spec.Pin = pinOf(predicted)
		built, err := buildWith(e, spec)
		if err != nil {
			t.Fatalf("%v: build: %v", platforms, err)
		}
		if built.Digest != predicted.Digest || built.BaseImageDigest != predicted.BaseImageDigest || built.ContextSHA256 != predicted.ContextSHA256 {
			t.Errorf("%v: built %s on %s from %s, predicted %s on %s from %s", platforms, built.Digest, built.BaseImageDigest, built.ContextSHA256,
				predicted.Digest, predicted.BaseImageDigest, predicted.ContextSHA256)
		}
		if len(predicted.PlatformDigests) != len(platforms) || len(platforms) > 0 && !equalMaps(built.PlatformDigests, predicted.PlatformDigests) {
			t.Errorf("%v: platform digests built %v, predicted %v", platforms, built.PlatformDigests, predicted.PlatformDigests)
		}
		if got, err := e.Registry.ResolveTag(context.Background(), spec.Repository, "latest"); err != nil || got != predicted.Digest {
			t.Errorf("%v: latest = %s, %v; want %s", platforms, got, err, predicted.Digest)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPinnedBuildUsesThePlannedBase: the base tag moves between plan and
// apply; the apply builds on the base the plan showed and reaches the
// planned digest, and an unpinned build takes the new base.
func TestPinnedBuildUsesThePlannedBase(t *testing.T) {
	e, _, host := setup(t)
	spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/base:1\nCOPY a /a\n", "a": "x"})
	spec.Executor = build.ExecutorDirect
	predicted, err := predictWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := mutate.Config(empty.Image, v1.Config{Env: []string{"MOVED=1"}})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/base:1", name.Insecure)
	if err := remote.Write(ref, moved); err != nil {
		t.Fatal(err)
	}
	spec.Pin = pinOf(predicted)
	built, err := buildWith(e, spec)
	if err != nil || built.Digest != predicted.Digest || built.BaseImageDigest != predicted.BaseImageDigest {
		t.Fatalf("pinned build = %+v, %v; want %s on %s", built, err, predicted.Digest, predicted.BaseImageDigest)
	}
	spec.Pin = nil
	unpinned, err := buildWith(e, spec)
	if err != nil || unpinned.BaseImageDigest == predicted.BaseImageDigest {
		t.Errorf("unpinned build on %s, %v; want the moved base", unpinned.BaseImageDigest, err)
	}
}

// TestPinnedBuildRefusesAnotherResult: a context that changed after the
// plan fails before anything is built, a pinned digest the build does
// not reach fails before anything is pushed.
func TestPinnedBuildRefusesAnotherResult(t *testing.T) {
	e, counter, _ := setup(t)
	spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/base:1\nCOPY a /a\n", "a": "x"})
	spec.Executor = build.ExecutorDirect
	predicted, err := predictWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	changed := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/base:1\nCOPY a /a\n", "a": "y"})
	changed.Executor = build.ExecutorDirect
	changed.Pin = pinOf(predicted)
	var f *build.Failure
	if _, err := buildWith(e, changed); !errors.As(err, &f) || f.Reason != build.ReasonContextChanged {
		t.Errorf("changed context: %v, want %s", err, build.ReasonContextChanged)
	}
	spec.Pin = pinOf(predicted)
	spec.Pin.Digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	counter.reset()
	if _, err := buildWith(e, spec); !errors.As(err, &f) || f.Reason != build.ReasonPredictionMissed {
		t.Errorf("missed digest: %v, want %s", err, build.ReasonPredictionMissed)
	}
	if len(counter.uploaded) != 0 {
		t.Errorf("a build that missed its digest uploaded %v", counter.uploaded)
	}
	if _, err := e.Registry.ResolveTag(context.Background(), spec.Repository, "latest"); err == nil {
		t.Errorf("a build that missed its digest pushed a tag")
	}
}

// TestPredictionsLayersAreReused: the build after a prediction finds the
// layers the prediction wrote in the cache and does not write them again
// (same files, same inodes); a build of other content adds its own.
func TestPredictionsLayersAreReused(t *testing.T) {
	e, _, _ := setup(t)
	e.LayerCacheDir = t.TempDir()
	spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/base:1\nCOPY a /a\nCOPY b /b\n", "a": "x", "b": "y"})
	spec.Executor = build.ExecutorDirect
	predicted, err := predictWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	before := cachedLayers(t, e.LayerCacheDir)
	if len(before) != 2 {
		t.Fatalf("the prediction cached %d layers, want 2: %v", len(before), before)
	}
	spec.Pin = pinOf(predicted)
	if _, err := buildWith(e, spec); err != nil {
		t.Fatal(err)
	}
	after := cachedLayers(t, e.LayerCacheDir)
	if len(after) != len(before) {
		t.Fatalf("cache after the build %v, before %v", after, before)
	}
	for f, ino := range before {
		if after[f] != ino {
			t.Errorf("%s was written again by the build", f)
		}
	}
	other := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/base:1\nCOPY a /a\nCOPY b /b\n", "a": "x", "b": "z"})
	other.Executor = build.ExecutorDirect
	if _, err := buildWith(e, other); err != nil {
		t.Fatal(err)
	}
	if n := len(cachedLayers(t, e.LayerCacheDir)); n != 3 {
		t.Errorf("after a build with one layer changed the cache holds %d layers, want 3", n)
	}
}

// TestKanikoLabelsAreNotPredictable: a spec whose labels hold the build's
// time (a non-reproducible Kaniko spec handed to the direct executor)
// is not predicted.
func TestKanikoLabelsAreNotPredictable(t *testing.T) {
	e, _, _ := setup(t)
	spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/base:1\nCOPY a /a\n", "a": "x"})
	spec.Executor = build.ExecutorKaniko
	if _, err := predictWith(e, spec); !errors.Is(err, build.ErrNotPredictable) {
		t.Errorf("predict = %v, want ErrNotPredictable", err)
	}
}

// cachedLayers are the cache's layer files and their inodes.
func cachedLayers(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	out := map[string]uint64{}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "onesbuild-") {
			t.Errorf("temporary layer left in the cache: %s", f)
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = fi.Sys().(*syscall.Stat_t).Ino
	}
	return out
}
