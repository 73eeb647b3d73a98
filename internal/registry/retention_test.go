package registry

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestKeptHistory(t *testing.T) {
	key := "abcd1234"
	snap := map[string]string{
		"latest": "sha256:c",
		"onesbuild-abcd1234-20261126t090000.000000000z":        "sha256:b",
		"onesbuild-abcd1234-20261126t100000.000000000z":        "sha256:c",
		"onesbuild-abcd1234-20261125t230000.000000000z":        "sha256:a",
		"onesbuild-ffff0000-20261101t000000.000000000z":        "sha256:f", // another resource
		"onesbuild-abcd1234-garbage":                           "sha256:g",
		"onesbuild-orphan-abcd1234-20261126t110000.000000000z": "sha256:o", // released, not yet adopted
	}
	kept, expired := keptHistory(snap, sortedTags(snap), key, 1)
	want := []string{"onesbuild-abcd1234-20261126t090000.000000000z", "onesbuild-abcd1234-20261125t230000.000000000z"}
	if !reflect.DeepEqual(expired, want) || !reflect.DeepEqual(kept, map[string]bool{"sha256:c": true}) {
		t.Fatalf("kept %v, expired %v; want c kept, %v expired", kept, expired, want)
	}
	if _, expired := keptHistory(snap, sortedTags(snap), key, 3); expired != nil {
		t.Fatalf("keep 3 of 3 expired %v", expired)
	}
	// The same image built again counts once, at its newest build.
	snap["onesbuild-abcd1234-20261126t120000.000000000z"] = "sha256:b"
	kept, expired = keptHistory(snap, sortedTags(snap), key, 2)
	want = []string{"onesbuild-abcd1234-20261126t090000.000000000z", "onesbuild-abcd1234-20261125t230000.000000000z"}
	if !reflect.DeepEqual(expired, want) || !reflect.DeepEqual(kept, map[string]bool{"sha256:b": true, "sha256:c": true}) {
		t.Fatalf("kept %v, expired %v; want b and c kept, %v expired", kept, expired, want)
	}
	if HistoryTag(key, time.Date(2026, 11, 26, 9, 1, 2, 7, time.UTC)) != "onesbuild-abcd1234-20261126t090102.000000007z" {
		t.Fatal("history tag format changed")
	}
	if HistoryKey("r", []string{"a"}) == HistoryKey("r", []string{"b"}) {
		t.Fatal("different tags share a history key")
	}
}

type prunedEntry struct{ tag, digest string }

func TestPruneHistory(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})
	var digests []string
	for i, at := range []string{"20261126t070000.000000000z", "20261126t080000.000000000z", "20261126t090000.000000000z", "20261126t100000.000000000z"} {
		d := push(t, host, "app:onesbuild-"+key+"-"+at, nil)
		digests = append(digests, d.String())
		if i == 3 {
			push(t, host, "app:latest", nil) // a different image holds latest
		}
	}
	other := push(t, host, "app:release", nil)
	// A person tagged the second-oldest build "stable".
	if err := c.Tag(ctx, repo, digests[1], "stable"); err != nil {
		t.Fatal(err)
	}

	var reported []prunedEntry
	record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
	if err := c.PruneHistory(ctx, repo, key, 1, nil, true, record); err != nil || len(reported) != 2 {
		t.Fatalf("dry run: %v, reported %v; want the two unreferenced old builds", err, reported)
	}
	if _, err := c.Describe(ctx, repo, digests[0]); err != nil {
		t.Fatal("a dry run deleted a manifest")
	}
	reported = nil
	if err := c.PruneHistory(ctx, repo, key, 1, []string{digests[0]}, false, record); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 1 || reported[0].digest != digests[2] {
		t.Fatalf("pruned = %v, want only %s (the oldest is protected, the second is tagged stable)", reported, digests[2])
	}
	if _, err := c.Describe(ctx, repo, digests[2]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned manifest still there: %v", err)
	}
	for _, d := range []string{digests[0], digests[1], digests[3], other.String()} {
		if _, err := c.Describe(ctx, repo, d); err != nil {
			t.Fatalf("retention deleted %s, which it must keep: %v", d, err)
		}
	}
	if got, err := c.ResolveTag(ctx, repo, "stable"); err != nil || got != digests[1] {
		t.Fatalf("stable = %s, %v; want it to still resolve to %s", got, err, digests[1])
	}
}

// at is the history time of hour h on the test day.
func at(h int) time.Time { return time.Date(2026, 11, 26, h, 0, 0, 0, time.UTC) }

// TestPruneHistoryKeepsByDigest: builds D, E, D again (a revert; direct
// builds are reproducible), F with keep 3 keep D, which the kept third
// history tag points at; only the expired first tag goes.
func TestPruneHistoryKeepsByDigest(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})
	d := push(t, host, "app:"+HistoryTag(key, at(1)), nil).String()
	e := push(t, host, "app:"+HistoryTag(key, at(2)), nil).String()
	if err := c.Tag(ctx, repo, d, HistoryTag(key, at(3))); err != nil {
		t.Fatal(err)
	}
	f := push(t, host, "app:"+HistoryTag(key, at(4)), nil).String()
	if err := c.Tag(ctx, repo, f, "latest"); err != nil {
		t.Fatal(err)
	}

	var reported []prunedEntry
	record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
	if err := c.PruneHistory(ctx, repo, key, 3, []string{f}, false, record); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 0 {
		t.Errorf("deleted %v; D is kept by its newer history tag", reported)
	}
	for _, digest := range []string{d, e, f} {
		if _, err := c.Describe(ctx, repo, digest); err != nil {
			t.Errorf("retention deleted %s: %v", digest, err)
		}
	}
	if _, err := c.ResolveTag(ctx, repo, HistoryTag(key, at(1))); !errors.Is(err, ErrNotFound) {
		t.Errorf("the expired history tag stayed: %v", err)
	}
	for h := 2; h <= 4; h++ {
		if _, err := c.ResolveTag(ctx, repo, HistoryTag(key, at(h))); err != nil {
			t.Errorf("kept history tag %d: %v", h, err)
		}
	}
}

// TestPruneHistoryCountsDigests: builds D, E, D, D (a taint and
// re-apply of a reproducible build gives the same digest), F with keep 3
// are three images, and all three stay; D's older history tags go.
func TestPruneHistoryCountsDigests(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})
	d := push(t, host, "app:"+HistoryTag(key, at(1)), nil).String()
	e := push(t, host, "app:"+HistoryTag(key, at(2)), nil).String()
	for _, h := range []int{3, 4} {
		if err := c.Tag(ctx, repo, d, HistoryTag(key, at(h))); err != nil {
			t.Fatal(err)
		}
	}
	f := push(t, host, "app:"+HistoryTag(key, at(5)), nil).String()
	if err := c.Tag(ctx, repo, f, "latest"); err != nil {
		t.Fatal(err)
	}
	var reported []prunedEntry
	record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
	if err := c.PruneHistory(ctx, repo, key, 3, []string{f}, false, record); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 0 {
		t.Errorf("deleted %v; three images with keep_last = 3", reported)
	}
	for n, digest := range map[string]string{"D": d, "E": e, "F": f} {
		if _, err := c.Describe(ctx, repo, digest); err != nil {
			t.Errorf("retention deleted %s: %v", n, err)
		}
	}
	want := []string{"latest", HistoryTag(key, at(2)), HistoryTag(key, at(4)), HistoryTag(key, at(5))}
	if got := listTags(t, c, repo); !reflect.DeepEqual(got, want) {
		t.Errorf("tags = %v, want %v (each image's newest history tag)", got, want)
	}

	// One more image: E, now the oldest of four, goes.
	g := push(t, host, "app:"+HistoryTag(key, at(6)), nil).String()
	if err := c.PruneHistory(ctx, repo, key, 3, []string{g}, false, record); err != nil {
		t.Fatal(err)
	}
	if want := []prunedEntry{{HistoryTag(key, at(2)), e}}; !reflect.DeepEqual(reported, want) {
		t.Errorf("pruned %v, want %v", reported, want)
	}
}

// TestPruneHistoryIndexes: an expired build that an index in use lists
// stays; an expired index goes with the platform images nothing else
// uses.
func TestPruneHistoryIndexes(t *testing.T) {
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})

	t.Run("a platform image of another resource's index: kept", func(t *testing.T) {
		c, host := testRegistry(t)
		old := platformImage(t)
		pushTagged(t, host, "app:"+HistoryTag(key, at(1)), old)
		pushIndex(t, host, "app:multi", old, platformImage(t))
		current := push(t, host, "app:"+HistoryTag(key, at(2)), nil).String()
		var reported []prunedEntry
		if err := c.PruneHistory(ctx, repo, key, 1, []string{current}, false, func(tag, digest string) {
			reported = append(reported, prunedEntry{tag, digest})
		}); err != nil {
			t.Fatal(err)
		}
		if len(reported) != 0 || !present(t, c, repo, digestOf(t, old))[digestOf(t, old)] {
			t.Errorf("pruned %v: the index tagged multi lost an image", reported)
		}
	})
	t.Run("an expired index: its platform images go, unless the kept index lists them", func(t *testing.T) {
		c, host := testRegistry(t)
		amd64v1, amd64v2, arm64 := platformImage(t), platformImage(t), platformImage(t)
		old := pushIndex(t, host, "app:"+HistoryTag(key, at(1)), amd64v1, arm64)
		current := pushIndex(t, host, "app:"+HistoryTag(key, at(2)), amd64v2, arm64)
		var reported []prunedEntry
		record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
		if err := c.PruneHistory(ctx, repo, key, 1, []string{current}, true, record); err != nil {
			t.Fatal(err)
		}
		want := []prunedEntry{{HistoryTag(key, at(1)), old}, {HistoryTag(key, at(1)), digestOf(t, amd64v1)}}
		if !reflect.DeepEqual(reported, want) {
			t.Errorf("dry run reported %v, want %v", reported, want)
		}
		reported = nil
		if err := c.PruneHistory(ctx, repo, key, 1, []string{current}, false, record); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(reported, want) {
			t.Errorf("pruned %v, want %v", reported, want)
		}
		if got, want := present(t, c, repo, old, current, digestOf(t, amd64v1), digestOf(t, amd64v2), digestOf(t, arm64)),
			map[string]bool{current: true, digestOf(t, amd64v2): true, digestOf(t, arm64): true}; !reflect.DeepEqual(got, want) {
			t.Errorf("present %v, want %v", got, want)
		}
	})
}

// hook runs do once, before serving the first request for path, then
// serves every request with inner.
type hook struct {
	inner  http.Handler
	method string
	path   string
	once   sync.Once
	do     func()
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == h.method && r.URL.Path == h.path {
		h.once.Do(h.do)
	}
	h.inner.ServeHTTP(w, r)
}

// TestPruneHistoryRereadsBeforeDelete: a tag someone puts on an expired
// build after retention has read the repository's tags still saves it.
func TestPruneHistoryRereadsBeforeDelete(t *testing.T) {
	reg := newRegistry()
	h := &hook{inner: reg, method: http.MethodHead}
	c, host := serve(t, h)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})
	old := push(t, host, "app:"+HistoryTag(key, at(1)), nil).String()
	current := push(t, host, "app:"+HistoryTag(key, at(2)), nil).String()
	// Another resource tags the old build while retention resolves the
	// expired history tag.
	h.path = "/v2/app/manifests/" + HistoryTag(key, at(1))
	h.do = func() { copyManifest(t, reg, "app", old, "pinned") }

	var reported []prunedEntry
	record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
	if err := c.PruneHistory(ctx, repo, key, 1, []string{current}, false, record); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Describe(ctx, repo, old); err != nil {
		t.Fatalf("deleted a build tagged meanwhile: %v", err)
	}
	if len(reported) != 0 {
		t.Errorf("reported %v as deleted", reported)
	}
	if got, err := c.ResolveTag(ctx, repo, "pinned"); err != nil || got != old {
		t.Errorf("pinned = %s, %v", got, err)
	}
}

// copyManifest tags repo@digest as tag by talking to the registry
// handler directly, as another client would.
func copyManifest(t *testing.T, reg http.Handler, repo, digest, tag string) {
	t.Helper()
	get := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/manifests/"+digest, nil)
	reg.ServeHTTP(get, req)
	if get.Code != http.StatusOK {
		t.Errorf("reading %s: %d", digest, get.Code)
		return
	}
	put := httptest.NewRequest(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, bytes.NewReader(get.Body.Bytes()))
	put.Header.Set("Content-Type", get.Header().Get("Content-Type"))
	rec := httptest.NewRecorder()
	reg.ServeHTTP(rec, put)
	if rec.Code != http.StatusCreated {
		t.Errorf("tagging %s as %s: %d %s", digest, tag, rec.Code, rec.Body)
	}
}

// orphanTag is the orphaned history tag of key's build at t, spelled out
// so that a change of the format shows.
func orphanTag(key string, t time.Time) string {
	return "onesbuild-orphan-" + key + "-" + t.UTC().Format("20060102t150405.000000000z")
}

// history pushes builds of key at the hours given and returns their
// digests by hour.
func history(t *testing.T, host, key string, hours ...int) map[int]string {
	t.Helper()
	digests := map[int]string{}
	for _, h := range hours {
		digests[h] = push(t, host, "app:"+HistoryTag(key, at(h)), nil).String()
	}
	return digests
}

func listTags(t *testing.T, c *Client, repo string) []string {
	t.Helper()
	tags, err := c.ListTags(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(tags)
	return tags
}

// TestReleaseThenAdopt: the history of a resource whose tags changed
// (a new key) is released when the old resource is destroyed, adopted by
// the new one, and pruned with its own.
func TestReleaseThenAdopt(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	oldKey, newKey := HistoryKey(repo, []string{"v1"}), HistoryKey(repo, []string{"v2"})
	old := history(t, host, oldKey, 1, 2, 3)

	if err := c.ReleaseHistory(ctx, repo, oldKey, old[3]); err != nil {
		t.Fatal(err)
	}
	for h, d := range old {
		if _, err := c.ResolveTag(ctx, repo, HistoryTag(oldKey, at(h))); !errors.Is(err, ErrNotFound) {
			t.Errorf("released history tag %d stayed: %v", h, err)
		}
		if got, err := c.ResolveTag(ctx, repo, orphanTag(oldKey, at(h))); err != nil || got != d {
			t.Errorf("orphaned history tag %d = %s, %v; want %s", h, got, err, d)
		}
	}

	current := push(t, host, "app:"+HistoryTag(newKey, at(4)), nil).String()
	if err := c.Tag(ctx, repo, current, "v2"); err != nil {
		t.Fatal(err)
	}
	before := listTags(t, c, repo)
	var reported []prunedEntry
	record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
	if err := c.PruneHistory(ctx, repo, newKey, 2, []string{current}, true, record); err != nil {
		t.Fatal(err)
	}
	want := []prunedEntry{{HistoryTag(newKey, at(2)), old[2]}, {HistoryTag(newKey, at(1)), old[1]}}
	if !reflect.DeepEqual(reported, want) {
		t.Errorf("dry run reported %v, want %v", reported, want)
	}
	if after := listTags(t, c, repo); !reflect.DeepEqual(after, before) {
		t.Errorf("a dry run changed the tags from %v to %v", before, after)
	}

	reported = nil
	if err := c.PruneHistory(ctx, repo, newKey, 2, []string{current}, false, record); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reported, want) {
		t.Errorf("pruned %v, want %v", reported, want)
	}
	for _, d := range []string{old[1], old[2]} {
		if _, err := c.Describe(ctx, repo, d); !errors.Is(err, ErrNotFound) {
			t.Errorf("adopted old build %s not pruned: %v", d, err)
		}
	}
	for _, d := range []string{old[3], current} {
		if _, err := c.Describe(ctx, repo, d); err != nil {
			t.Errorf("kept build %s deleted: %v", d, err)
		}
	}
	if got, want := listTags(t, c, repo), []string{HistoryTag(newKey, at(3)), HistoryTag(newKey, at(4)), "v2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
}

// TestAdoptionIdempotentWithoutTagDeletes: where the registry cannot
// delete tags (distribution before v3), released and adopted tags stay;
// they must neither protect what they no longer own nor be adopted again.
func TestAdoptionIdempotentWithoutTagDeletes(t *testing.T) {
	c, host := serve(t, &tagDeletes{inner: newRegistry(), refuse: true, dropTags: true})
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	oldKey, newKey, thirdKey := HistoryKey(repo, []string{"v1"}), HistoryKey(repo, []string{"v2"}), HistoryKey(repo, []string{"v3"})
	old := history(t, host, oldKey, 1, 2, 3)
	if err := c.ReleaseHistory(ctx, repo, oldKey, old[3]); err != nil {
		t.Fatalf("releasing where tags cannot be deleted: %v", err)
	}
	current := history(t, host, newKey, 4)[4]

	var reported []prunedEntry
	record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
	if err := c.PruneHistory(ctx, repo, newKey, 2, []string{current}, false, record); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 2 {
		t.Fatalf("pruned %v, want the two oldest adopted builds (released tags protect nothing)", reported)
	}
	for _, d := range []string{old[3], current} {
		if _, err := c.Describe(ctx, repo, d); err != nil {
			t.Errorf("kept build %s deleted: %v", d, err)
		}
	}
	settled := listTags(t, c, repo)

	reported = nil
	if err := c.PruneHistory(ctx, repo, newKey, 2, []string{current}, false, record); err != nil {
		t.Fatal(err)
	}
	if err := c.ReleaseHistory(ctx, repo, oldKey, old[3]); err != nil {
		t.Fatal(err)
	}
	if got := listTags(t, c, repo); len(reported) != 0 || !reflect.DeepEqual(got, settled) {
		t.Errorf("a second round pruned %v and changed the tags from %v to %v", reported, settled, got)
	}

	// Another resource of the repository leaves the adopted builds to
	// their adopter.
	third := history(t, host, thirdKey, 5)[5]
	if err := c.PruneHistory(ctx, repo, thirdKey, 1, []string{third}, false, record); err != nil {
		t.Fatal(err)
	}
	if got, want := listTags(t, c, repo), append(settled, HistoryTag(thirdKey, at(5))); len(reported) != 0 || !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("another key pruned %v and changed the tags to %v, want %v", reported, got, want)
	}
	if _, err := c.Describe(ctx, repo, old[3]); err != nil {
		t.Errorf("another key deleted a build adopted and kept: %v", err)
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// TestAdoptionAtATakenTime: an orphan whose build time the adopting key
// already uses moves on a nanosecond, once.
func TestAdoptionAtATakenTime(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"v2"})
	orphaned := push(t, host, "app:"+orphanTag("0ldkey00", at(1)), nil).String()
	own := history(t, host, key, 1)[1]
	for range 2 {
		if err := c.PruneHistory(ctx, repo, key, 10, []string{own}, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := c.ResolveTag(ctx, repo, HistoryTag(key, at(1).Add(time.Nanosecond))); err != nil || got != orphaned {
		t.Errorf("adopted orphan = %s, %v; want %s", got, err, orphaned)
	}
	if got, want := listTags(t, c, repo), []string{HistoryTag(key, at(1)), HistoryTag(key, at(1).Add(time.Nanosecond))}; !reflect.DeepEqual(got, want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
}

func TestHistoryKeyLimits(t *testing.T) {
	long := strings.Repeat("k", maxKeyLength)
	if err := checkKey(long); err != nil {
		t.Fatal(err)
	}
	if n := len(orphanTag(long, at(1))); n != maxTagLength {
		t.Errorf("the longest orphaned tag has %d characters, want %d", n, maxTagLength)
	}
	for _, bad := range []string{"", long + "k", "orphan", "a-b", "a/b"} {
		if err := checkKey(bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	if err := (&Client{}).ReleaseHistory(context.Background(), clusterRegistry+"/app", "a-b", ""); err == nil {
		t.Error("ReleaseHistory accepted a bad key")
	}
}

// TestReleaseAndAdoptSameKey: a resource replaced without a change of
// tags keeps its key; the new one adopts what the old one released, even
// where the released tags stay under the very names it would adopt to.
func TestReleaseAndAdoptSameKey(t *testing.T) {
	c, host := serve(t, &tagDeletes{inner: newRegistry(), refuse: true, dropTags: true})
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})
	old := history(t, host, key, 1, 2)
	if err := c.ReleaseHistory(ctx, repo, key, old[2]); err != nil {
		t.Fatal(err)
	}
	current := history(t, host, key, 3)[3]
	var reported []prunedEntry
	record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
	for range 2 {
		if err := c.PruneHistory(ctx, repo, key, 2, []string{current}, false, record); err != nil {
			t.Fatal(err)
		}
	}
	if want := []prunedEntry{{HistoryTag(key, at(1).Add(time.Nanosecond)), old[1]}}; !reflect.DeepEqual(reported, want) {
		t.Errorf("pruned %v, want %v", reported, want)
	}
	if _, err := c.Describe(ctx, repo, old[2]); err != nil {
		t.Errorf("the kept adopted build was deleted: %v", err)
	}
}

// TestReleaseAndAdoptSameKeyDeletingTags: a resource replaced by one of
// the same repository and tags (a changed context) releases its history
// and adopts it back; where the registry deletes tags, the adopted tags
// are its own again and the oldest build is pruned.
func TestReleaseAndAdoptSameKeyDeletingTags(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})
	old := history(t, host, key, 1, 2)
	if err := c.ReleaseHistory(ctx, repo, key, old[2]); err != nil {
		t.Fatal(err)
	}
	current := history(t, host, key, 3)[3]
	var reported []prunedEntry
	if err := c.PruneHistory(ctx, repo, key, 2, []string{current}, false, func(tag, digest string) {
		reported = append(reported, prunedEntry{tag, digest})
	}); err != nil {
		t.Fatal(err)
	}
	if want := []prunedEntry{{HistoryTag(key, at(1)), old[1]}}; !reflect.DeepEqual(reported, want) {
		t.Errorf("pruned %v, want %v", reported, want)
	}
	if _, err := c.Describe(ctx, repo, old[2]); err != nil {
		t.Errorf("the kept adopted build was deleted: %v", err)
	}
}

// TestReleaseHistoryAfterANewerBuild: a create_before_destroy
// replacement with the same repository and tags (the same key) builds
// before the old resource is destroyed; the old one's release must leave
// the history to it, or another key's retention adopts and prunes the
// live resource's builds.
func TestReleaseHistoryAfterANewerBuild(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	k, k2 := HistoryKey(repo, []string{"prod"}), HistoryKey(repo, []string{"staging"})
	live := history(t, host, k, 1, 2, 3) // 2 is the old resource's image, 3 the replacement's
	if err := c.Tag(ctx, repo, live[3], "prod"); err != nil {
		t.Fatal(err)
	}
	staging := history(t, host, k2, 4)[4]
	if err := c.Tag(ctx, repo, staging, "staging"); err != nil {
		t.Fatal(err)
	}
	before := listTags(t, c, repo)
	if err := c.ReleaseHistory(ctx, repo, k, live[2]); err != nil {
		t.Fatal(err)
	}
	if got := listTags(t, c, repo); !reflect.DeepEqual(got, before) {
		t.Fatalf("released with a newer build of the key: tags %v, were %v", got, before)
	}
	if err := c.PruneHistory(ctx, repo, k2, 1, []string{staging}, false, nil); err != nil {
		t.Fatal(err)
	}
	if got := present(t, c, repo, live[1], live[2], live[3]); len(got) != 3 {
		t.Errorf("another key's retention deleted the live resource's builds: present %v", got)
	}
}

// TestAdoptionSkipsDeletedBuilds: an orphaned history tag whose build
// is gone, kept by a registry that neither drops the tags of a deleted
// manifest nor deletes tags, is not adopted and fails nothing.
func TestAdoptionSkipsDeletedBuilds(t *testing.T) {
	c, host := serve(t, &tagDeletes{inner: newRegistry(), refuse: true})
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	oldKey, newKey := HistoryKey(repo, []string{"v1"}), HistoryKey(repo, []string{"v2"})
	old := history(t, host, oldKey, 1, 2)
	if err := c.ReleaseHistory(ctx, repo, oldKey, old[2]); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, repo, old[2]); err != nil {
		t.Fatal(err)
	}
	current := history(t, host, newKey, 3)[3]
	var reported []prunedEntry
	if err := c.PruneHistory(ctx, repo, newKey, 1, []string{current}, false, func(tag, digest string) {
		reported = append(reported, prunedEntry{tag, digest})
	}); err != nil {
		t.Fatalf("pruning with a dangling orphaned tag: %v", err)
	}
	if want := []prunedEntry{{HistoryTag(newKey, at(1)), old[1]}}; !reflect.DeepEqual(reported, want) {
		t.Errorf("pruned %v, want %v", reported, want)
	}
}
