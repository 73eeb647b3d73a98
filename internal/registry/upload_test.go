package registry

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// uploadLog records the requests a registry is asked, and can refuse
// uploads that carry their content in the closing request.
type uploadLog struct {
	next             http.Handler
	mu               sync.Mutex
	seen             []string
	refuseMonolithic bool
}

func (l *uploadLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.seen = append(l.seen, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	if l.refuseMonolithic && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") && r.ContentLength > 0 {
		http.Error(w, `{"errors":[{"code":"UNSUPPORTED","message":"no monolithic uploads"}]}`, http.StatusBadRequest)
		return
	}
	l.next.ServeHTTP(w, r)
}

func (l *uploadLog) count(digest string) (uploads, asks int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.seen {
		switch {
		case strings.Contains(s, "/blobs/uploads/"):
			uploads++
		case strings.HasPrefix(s, "HEAD ") && strings.HasSuffix(s, "/blobs/"+digest):
			asks++
		}
	}
	return uploads, asks
}

func loggedRegistry(t *testing.T, refuseMonolithic bool) (*Client, string, *uploadLog) {
	t.Helper()
	l := &uploadLog{next: newRegistry(), refuseMonolithic: refuseMonolithic}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}}, u.Host, l
}

// TestAttachUploadsADocumentInTwoRequests attaches a document to a
// registry that has the empty config already: the document goes in
// with one POST and one PUT, nobody asks whether it is there, and the
// registry holds exactly its bytes. A registry that refuses the content
// in the closing PUT still gets it, the long way.
func TestAttachUploadsADocumentInTwoRequests(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		ctx := context.Background()
		c, host, l := loggedRegistry(t, refuse)
		repo := clusterRegistry + "/app"
		subject := push(t, host, "app:v1", nil).String()
		if _, err := c.Attach(ctx, repo, subject, Artifact{ArtifactType: "application/spdx+json", Content: []byte(`{"first":1}`)}); err != nil {
			t.Fatal(err)
		}
		content := []byte(`{"spdxVersion":"SPDX-2.3","second":2}`)
		digest, _, _ := v1.SHA256(strings.NewReader(string(content)))
		before, _ := l.count(digest.String())
		d, err := c.Attach(ctx, repo, subject, Artifact{ArtifactType: "application/spdx+json", Content: content})
		if err != nil {
			t.Fatalf("refusing monolithic uploads %v: %v", refuse, err)
		}
		uploads, asks := l.count(digest.String())
		if !refuse && (uploads-before != 2 || asks != 0) {
			t.Errorf("the document took %d upload requests and %d existence checks; want 2 and 0", uploads-before, asks)
		}
		got, err := c.Fetch(ctx, repo, d)
		if err != nil || string(got.Content) != string(content) {
			t.Errorf("refusing monolithic uploads %v: the attachment holds %q (%v)", refuse, got.Content, err)
		}
		ref, _ := name.ParseReference(host+"/app@"+digest.String(), name.Insecure)
		if _, err := remote.Layer(ref.(name.Digest)); err != nil {
			t.Errorf("the document's blob is not in the registry: %v", err)
		}
	}
}

// TestReferrersAPIAbsenceIsAskedOnce: go-containerregistry probes the
// referrers API before every attachment and listing; a registry without
// it is asked once, and every attachment is still listed (by the
// fallback tag). One with it is asked every time.
func TestReferrersAPIAbsenceIsAskedOnce(t *testing.T) {
	for _, supported := range []bool{false, true} {
		ctx := context.Background()
		l := &uploadLog{next: ggcrregistry.New(ggcrregistry.WithReferrersSupport(supported), ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
		srv := httptest.NewServer(l)
		u, _ := url.Parse(srv.URL)
		c := &Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}}
		repo := clusterRegistry + "/app"
		subject := push(t, u.Host, "app:v1", nil).String()
		var attached []string
		for i := range 3 {
			d, err := c.Attach(ctx, repo, subject, Artifact{ArtifactType: "application/spdx+json", Content: []byte(fmt.Sprintf(`{"n":%d}`, i))})
			if err != nil {
				t.Fatal(err)
			}
			attached = append(attached, d)
		}
		refs, err := c.Referrers(ctx, repo, subject)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != len(attached) {
			t.Errorf("referrers API %v: %d of %d attachments listed", supported, len(refs), len(attached))
		}
		probes := 0
		l.mu.Lock()
		for _, s := range l.seen {
			if strings.Contains(s, "/referrers/") {
				probes++
			}
		}
		l.mu.Unlock()
		if want := map[bool]int{false: 1, true: 4}[supported]; probes != want {
			t.Errorf("referrers API %v: asked %d times, want %d", supported, probes, want)
		}
		srv.Close()
	}
}

// TestReferrersAPIKeptThroughAMissingRepository: a registry with the
// referrers API answers 404 NAME_UNKNOWN for a repository it does not
// hold; that says nothing of the API, so the listing of another
// repository still comes from it, and attaching writes no fallback tag.
func TestReferrersAPIKeptThroughAMissingRepository(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := &Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}}
	repo := clusterRegistry + "/app"
	subject := push(t, u.Host, "app:v1", nil).String()
	first, err := c.Attach(ctx, repo, subject, Artifact{ArtifactType: "application/spdx+json", Content: []byte(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if refs, err := c.Referrers(ctx, clusterRegistry+"/nosuch", subject); err == nil && len(refs) > 0 {
		t.Fatalf("a repository that does not exist lists %v", refs)
	}
	if _, err := c.Attach(ctx, repo, subject, Artifact{ArtifactType: "application/spdx+json", Content: []byte(`{"a":2}`)}); err != nil {
		t.Fatal(err)
	}
	refs, err := c.Referrers(ctx, repo, subject)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range refs {
		found = found || r.Digest == first
	}
	if !found || len(refs) != 2 {
		t.Errorf("after a 404 for another repository the listing is %v; want both attachments, %s among them", refs, first)
	}
	if _, err := c.ResolveTag(ctx, repo, strings.Replace(subject, ":", "-", 1)); err == nil {
		t.Error("a fallback tag was written on a registry with the referrers API")
	}
}
