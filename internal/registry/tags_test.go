package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

// tagDeletes wraps a registry and changes how it answers DELETE of a
// manifest by tag.
type tagDeletes struct {
	inner http.Handler
	// refuse answers 405 UNSUPPORTED, as distribution before v3 does.
	refuse bool
	// withManifest deletes the tag's manifest too, as some registries did.
	withManifest bool
	// dropTags deletes the tags of a manifest deleted by digest, as the
	// distribution registry does (the in-memory one keeps them).
	dropTags bool
	deletes  atomic.Int64
}

func (h *tagDeletes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repo, ref, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
	if r.Method != http.MethodDelete || !ok {
		h.inner.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(ref, "sha256:") {
		h.inner.ServeHTTP(w, r)
		if h.dropTags {
			h.untagAll(repo, ref)
		}
		return
	}
	h.deletes.Add(1)
	switch {
	case h.refuse:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		w.Write([]byte(`{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}`))
		return
	case h.withManifest:
		head := httptest.NewRecorder()
		h.inner.ServeHTTP(head, httptest.NewRequest(http.MethodHead, r.URL.Path, nil))
		if d := head.Header().Get("Docker-Content-Digest"); d != "" {
			h.inner.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodDelete, "/v2/"+repo+"/manifests/"+d, nil))
		}
	}
	h.inner.ServeHTTP(w, r)
}

// untagAll deletes every tag of repo that points at digest.
func (h *tagDeletes) untagAll(repo, digest string) {
	list := httptest.NewRecorder()
	h.inner.ServeHTTP(list, httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/tags/list", nil))
	var tags struct{ Tags []string }
	if err := json.Unmarshal(list.Body.Bytes(), &tags); err != nil {
		return
	}
	for _, tag := range tags.Tags {
		head := httptest.NewRecorder()
		h.inner.ServeHTTP(head, httptest.NewRequest(http.MethodHead, "/v2/"+repo+"/manifests/"+tag, nil))
		if head.Header().Get("Docker-Content-Digest") == digest {
			h.inner.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodDelete, "/v2/"+repo+"/manifests/"+tag, nil))
		}
	}
}

func TestTagsPointingAt(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	a := push(t, host, "app:latest", nil).String()
	b := push(t, host, "app:other", nil).String()
	for _, tag := range []string{"v1", "stable"} {
		if err := c.Tag(ctx, repo, a, tag); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := c.TagsPointingAt(ctx, repo, a); err != nil || !reflect.DeepEqual(got, []string{"latest", "stable", "v1"}) {
		t.Errorf("tags at a = %v, %v", got, err)
	}
	if got, err := c.TagsPointingAt(ctx, repo, b); err != nil || !reflect.DeepEqual(got, []string{"other"}) {
		t.Errorf("tags at b = %v, %v", got, err)
	}
	if got, err := c.TagsPointingAt(ctx, repo, "sha256:"+strings.Repeat("0", 64)); err != nil || len(got) != 0 {
		t.Errorf("tags at an unknown digest = %v, %v", got, err)
	}
	if _, err := c.TagsPointingAt(ctx, clusterRegistry+"/none", a); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown repository: %v, want ErrNotFound", err)
	}
}

func TestUntag(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	d := push(t, host, "app:latest", nil).String()
	if err := c.Tag(ctx, repo, d, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Untag(ctx, repo, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ResolveTag(ctx, repo, "v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("v1 after Untag: %v, want ErrNotFound", err)
	}
	if _, err := c.Describe(ctx, repo, d); err != nil {
		t.Errorf("Untag deleted the manifest: %v", err)
	}
	if got, err := c.ResolveTag(ctx, repo, "latest"); err != nil || got != d {
		t.Errorf("latest after untagging v1 = %s, %v", got, err)
	}
	if err := c.Untag(ctx, repo, "v1"); err != nil {
		t.Errorf("untagging a tag already gone: %v, want nil", err)
	}
}

func TestUntagUnsupported(t *testing.T) {
	h := &tagDeletes{inner: newRegistry(), refuse: true}
	c, host := serve(t, h)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	d := push(t, host, "app:latest", nil).String()
	if err := c.Untag(ctx, repo, "latest"); !errors.Is(err, ErrTagDeleteUnsupported) {
		t.Fatalf("err = %v, want ErrTagDeleteUnsupported", err)
	}
	if got, err := c.ResolveTag(ctx, repo, "latest"); err != nil || got != d {
		t.Errorf("latest after a refused untag = %s, %v", got, err)
	}
}

// TestUntagDeletingManifest: a registry that deletes the manifest with
// the tag is found out once; the client deletes no more tags there.
func TestUntagDeletingManifest(t *testing.T) {
	h := &tagDeletes{inner: newRegistry(), withManifest: true}
	c, host := serve(t, h)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	push(t, host, "app:a", nil)
	push(t, host, "app:b", nil)
	if err := c.Untag(ctx, repo, "a"); !errors.Is(err, ErrTagDeleteUnsupported) || !strings.Contains(err.Error(), "deleted the manifest") {
		t.Fatalf("err = %v, want ErrTagDeleteUnsupported saying the manifest was deleted", err)
	}
	if err := c.Untag(ctx, repo, "b"); !errors.Is(err, ErrTagDeleteUnsupported) {
		t.Fatalf("second untag: %v, want ErrTagDeleteUnsupported", err)
	}
	if n := h.deletes.Load(); n != 1 {
		t.Errorf("%d tag deletes sent, want 1", n)
	}
	if _, err := c.ResolveTag(ctx, repo, "b"); err != nil {
		t.Errorf("b: %v", err)
	}
}

// TestUntagDanglingTag: a tag left behind by its deleted manifest (the
// in-memory registry keeps them, as some real ones do) is removed, and
// is no evidence that deleting tags deletes manifests.
func TestUntagDanglingTag(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	gone := push(t, host, "app:gone", nil).String()
	kept := push(t, host, "app:kept", nil).String()
	if err := c.Tag(ctx, repo, kept, "extra"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, repo, gone); err != nil {
		t.Fatal(err)
	}
	if err := c.Untag(ctx, repo, "gone"); err != nil {
		t.Fatalf("untagging a dangling tag: %v", err)
	}
	if err := c.Untag(ctx, repo, "extra"); err != nil {
		t.Fatalf("untagging after a dangling tag: %v", err)
	}
	if _, err := c.Describe(ctx, repo, kept); err != nil {
		t.Fatal(err)
	}
}
