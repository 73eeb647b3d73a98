package registry

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestDeleteOwned: an image goes only when nothing but its owner uses it.
func TestDeleteOwned(t *testing.T) {
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})

	t.Run("only the owner's tags: deleted", func(t *testing.T) {
		c, host := testRegistry(t)
		d := push(t, host, "app:latest", nil).String()
		if err := c.Tag(ctx, repo, d, HistoryTag(key, at(1))); err != nil {
			t.Fatal(err)
		}
		got, err := c.DeleteOwned(ctx, repo, d, Ownership{Tags: []string{"latest"}, HistoryKey: key})
		if err != nil || !got.Deleted {
			t.Fatalf("deletion %+v, %v", got, err)
		}
		if _, err := c.Describe(ctx, repo, d); !errors.Is(err, ErrNotFound) {
			t.Errorf("the manifest is still there: %v", err)
		}
	})
	t.Run("another resource's tag: only the owner's tags go", func(t *testing.T) {
		c, host := testRegistry(t)
		d := push(t, host, "app:latest", nil).String()
		if err := c.Tag(ctx, repo, d, "other"); err != nil {
			t.Fatal(err)
		}
		got, err := c.DeleteOwned(ctx, repo, d, Ownership{Tags: []string{"latest"}, HistoryKey: key})
		if err != nil || got.Deleted || !reflect.DeepEqual(got.Untagged, []string{"latest"}) || got.KeptBecause == "" {
			t.Fatalf("deletion %+v, %v; want latest untagged, the manifest kept", got, err)
		}
		if _, err := c.Describe(ctx, repo, d); err != nil {
			t.Errorf("the manifest another tag points at was deleted: %v", err)
		}
		if got, _ := c.ResolveTag(ctx, repo, "other"); got != d {
			t.Errorf("other = %s", got)
		}
	})
	t.Run("its history released first (retention): deleted", func(t *testing.T) {
		for name, h := range map[string]http.Handler{
			"tags deleted":     newRegistry(),
			"tags not deleted": &tagDeletes{inner: newRegistry(), refuse: true, dropTags: true},
		} {
			t.Run(name, func(t *testing.T) {
				c, host := serve(t, h)
				older := history(t, host, key, 1)[1]
				d := push(t, host, "app:latest", nil).String()
				if err := c.Tag(ctx, repo, d, HistoryTag(key, at(2))); err != nil {
					t.Fatal(err)
				}
				if err := c.ReleaseHistory(ctx, repo, key, d); err != nil {
					t.Fatal(err)
				}
				got, err := c.DeleteOwned(ctx, repo, d, Ownership{Tags: []string{"latest"}, HistoryKey: key})
				if err != nil || !got.Deleted {
					t.Fatalf("deletion %+v, %v; tags %v", got, err, listTags(t, c, repo))
				}
				if got := present(t, c, repo, d, older); !reflect.DeepEqual(got, map[string]bool{older: true}) {
					t.Errorf("present %v, want only the older build", got)
				}
				for _, tag := range listTags(t, c, repo) {
					if h, ok := parseHistoryTag(tag); ok && h.orphan {
						if got, _ := c.ResolveTag(ctx, repo, tag); got != older {
							t.Errorf("handed over %s, at %s; want only the older build %s", tag, got, older)
						}
					}
				}
			})
		}
	})
	t.Run("its released history adopted by another key: kept", func(t *testing.T) {
		c, host := testRegistry(t)
		d := push(t, host, "app:latest", nil).String()
		if err := c.Tag(ctx, repo, d, HistoryTag(key, at(1))); err != nil {
			t.Fatal(err)
		}
		if err := c.ReleaseHistory(ctx, repo, key, d); err != nil {
			t.Fatal(err)
		}
		other := HistoryKey(repo, []string{"other"})
		current := history(t, host, other, 2)[2]
		if err := c.PruneHistory(ctx, repo, other, 5, []string{current}, false, nil); err != nil {
			t.Fatal(err)
		}
		got, err := c.DeleteOwned(ctx, repo, d, Ownership{Tags: []string{"latest"}, HistoryKey: key})
		if err != nil || got.Deleted || !strings.Contains(got.KeptBecause, HistoryTag(other, at(1))) {
			t.Fatalf("deletion %+v, %v; want kept by the adopter's history tag", got, err)
		}
	})
	t.Run("pushed by a replacement in this run: nothing touched", func(t *testing.T) {
		c, host := testRegistry(t)
		d := push(t, host, "app:latest", nil).String()
		own := Ownership{Tags: []string{"latest"}, HistoryKey: key, PushedByPeer: true, PeerTags: []string{"latest", HistoryTag(key, at(2))}}
		got, err := c.DeleteOwned(ctx, repo, d, own)
		if err != nil || got.Deleted || len(got.Untagged) != 0 {
			t.Fatalf("deletion %+v, %v", got, err)
		}
		if got, _ := c.ResolveTag(ctx, repo, "latest"); got != d {
			t.Errorf("the replacement's tag was moved: %s", got)
		}
	})
	t.Run("pushed by a replacement with other tags: the tags it dropped go", func(t *testing.T) {
		for name, h := range map[string]http.Handler{
			"tags deleted":     newRegistry(),
			"tags not deleted": &tagDeletes{inner: newRegistry(), refuse: true},
		} {
			t.Run(name, func(t *testing.T) {
				c, host := serve(t, h)
				d := push(t, host, "app:latest", nil).String()
				for _, tag := range []string{"v1", "v2", HistoryTag(key, at(1))} {
					if err := c.Tag(ctx, repo, d, tag); err != nil {
						t.Fatal(err)
					}
				}
				own := Ownership{Tags: []string{"latest", "v1"}, HistoryKey: key, PushedByPeer: true, PeerTags: []string{"latest", "v2"}}
				got, err := c.DeleteOwned(ctx, repo, d, own)
				if err != nil || got.Deleted || got.KeptBecause == "" {
					t.Fatalf("deletion %+v, %v", got, err)
				}
				want := []string{"latest", HistoryTag(key, at(1)), "v2"}
				if name == "tags deleted" {
					if !reflect.DeepEqual(got.Untagged, []string{"v1"}) || len(got.Left) != 0 {
						t.Errorf("untagged %v, left %v; want v1 untagged", got.Untagged, got.Left)
					}
				} else {
					if !reflect.DeepEqual(got.Left, []string{"v1"}) || len(got.Untagged) != 0 {
						t.Errorf("untagged %v, left %v; want v1 left", got.Untagged, got.Left)
					}
					want = append(want, "v1")
				}
				if tags := listTags(t, c, repo); !reflect.DeepEqual(tags, sorted(want)) {
					t.Errorf("tags %v, want %v", tags, sorted(want))
				}
			})
		}
	})
	t.Run("a registry that cannot delete tags: left, reported", func(t *testing.T) {
		h := &tagDeletes{inner: newRegistry(), refuse: true}
		c, host := serve(t, h)
		d := push(t, host, "app:latest", nil).String()
		if err := c.Tag(ctx, repo, d, "other"); err != nil {
			t.Fatal(err)
		}
		got, err := c.DeleteOwned(ctx, repo, d, Ownership{Tags: []string{"latest"}})
		if err != nil || got.Deleted || !reflect.DeepEqual(got.Left, []string{"latest"}) {
			t.Fatalf("deletion %+v, %v", got, err)
		}
	})
}

// platformImage is a random image, not pushed.
func platformImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// digestOf is img's digest.
func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// pushIndex pushes an OCI index of imgs (their manifests by digest) as
// host/repoTag and returns its digest.
func pushIndex(t *testing.T, host, repoTag string, imgs ...v1.Image) string {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, img := range imgs {
		arch := []string{"amd64", "arm64", "s390x"}[i]
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, err := name.ParseReference(host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// pushTagged pushes img as host/repoTag.
func pushTagged(t *testing.T, host, repoTag string, img v1.Image) {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}

// present reports which of digests are still in repo.
func present(t *testing.T, c *Client, repo string, digests ...string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for _, d := range digests {
		switch _, err := c.Describe(context.Background(), repo, d); {
		case err == nil:
			got[d] = true
		case !errors.Is(err, ErrNotFound):
			t.Fatalf("describing %s: %v", d, err)
		}
	}
	return got
}

// TestDeleteOwnedIndexes: a manifest an index lists is in use while that
// index is; an index deleted takes its platform images along, except
// those something else uses.
func TestDeleteOwnedIndexes(t *testing.T) {
	ctx := context.Background()
	repo := clusterRegistry + "/app"

	t.Run("a platform image of another resource's index: kept", func(t *testing.T) {
		c, host := testRegistry(t)
		mine := platformImage(t)
		pushTagged(t, host, "app:mine", mine)
		pushIndex(t, host, "app:multi", mine, platformImage(t))
		got, err := c.DeleteOwned(ctx, repo, digestOf(t, mine), Ownership{Tags: []string{"mine"}})
		if err != nil || got.Deleted || !strings.Contains(got.KeptBecause, "multi") {
			t.Fatalf("deletion %+v, %v; want kept, because of the index tagged multi", got, err)
		}
		if !present(t, c, repo, digestOf(t, mine))[digestOf(t, mine)] {
			t.Error("the index tagged multi lost an image")
		}
		if !reflect.DeepEqual(got.Untagged, []string{"mine"}) {
			t.Errorf("untagged %v, want the owner's tag", got.Untagged)
		}
	})
	t.Run("its own index: deleted with its platform images", func(t *testing.T) {
		c, host := testRegistry(t)
		amd64, arm64 := platformImage(t), platformImage(t)
		idx := pushIndex(t, host, "app:latest", amd64, arm64)
		got, err := c.DeleteOwned(ctx, repo, idx, Ownership{Tags: []string{"latest"}})
		if err != nil || !got.Deleted || len(got.KeptChildren) != 0 {
			t.Fatalf("deletion %+v, %v", got, err)
		}
		children := []string{digestOf(t, amd64), digestOf(t, arm64)}
		sort.Strings(children)
		if !reflect.DeepEqual(got.Children, children) {
			t.Errorf("children deleted %v, want %v", got.Children, children)
		}
		if left := present(t, c, repo, append(children, idx)...); len(left) != 0 {
			t.Errorf("still there: %v", left)
		}
	})
	t.Run("its own index: platform images used elsewhere stay", func(t *testing.T) {
		c, host := testRegistry(t)
		pinned, shared, alone := platformImage(t), platformImage(t), platformImage(t)
		idx := pushIndex(t, host, "app:latest", pinned, shared, alone)
		pushTagged(t, host, "app:amd64-pinned", pinned)
		pushIndex(t, host, "app:other", shared)
		got, err := c.DeleteOwned(ctx, repo, idx, Ownership{Tags: []string{"latest"}})
		if err != nil || !got.Deleted || !reflect.DeepEqual(got.Children, []string{digestOf(t, alone)}) {
			t.Fatalf("deletion %+v, %v; want the index and only %s deleted", got, err, digestOf(t, alone))
		}
		if len(got.KeptChildren) != 2 {
			t.Fatalf("kept children %+v, want the pinned and the shared image", got.KeptChildren)
		}
		for _, k := range got.KeptChildren {
			want := map[string]string{digestOf(t, pinned): "amd64-pinned", digestOf(t, shared): "other"}[k.Digest]
			if want == "" || !strings.Contains(k.Because, want) {
				t.Errorf("kept %s because %q, want it to name %q", k.Digest, k.Because, want)
			}
		}
		if got, want := present(t, c, repo, idx, digestOf(t, pinned), digestOf(t, shared), digestOf(t, alone)),
			map[string]bool{digestOf(t, pinned): true, digestOf(t, shared): true}; !reflect.DeepEqual(got, want) {
			t.Errorf("present %v, want %v", got, want)
		}
	})
}
