package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// requestLog counts the requests a registry receives, by method and path.
type requestLog struct {
	inner http.Handler
	mu    sync.Mutex
	seen  map[string]int
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.seen[r.Method+" "+r.URL.Path]++
	l.mu.Unlock()
	l.inner.ServeHTTP(w, r)
}

func (l *requestLog) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, v := range l.seen {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// TestImagesOfOneBaseAskOnce: twenty images that share a base layer,
// pushed concurrently through one client (copies included), ask the
// registry once whether that layer is there, and ping it once.
func TestImagesOfOneBaseAskOnce(t *testing.T) {
	l := &requestLog{inner: newRegistry(), seen: map[string]int{}}
	c, _ := serve(t, l)
	base, err := random.Layer(1024, "application/vnd.oci.image.layer.v1.tar+gzip")
	if err != nil {
		t.Fatal(err)
	}
	baseDigest, _ := base.Digest()
	ctx := context.Background()
	first, err := mutate.AppendLayers(empty.Image, base)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.Reference(ctx, clusterRegistry+"/app:first")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, first, c.RemoteOptions(ctx)...); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own, err := random.Layer(64, "application/vnd.oci.image.layer.v1.tar+gzip")
			if err != nil {
				errs <- err
				return
			}
			img, err := mutate.AppendLayers(empty.Image, base, own)
			if err != nil {
				errs <- err
				return
			}
			client := c
			if i%2 == 1 {
				client = c.WithKeychain(authn.DefaultKeychain)
			}
			ref, err := client.Reference(ctx, fmt.Sprintf("%s/app:v%d", clusterRegistry, i))
			if err != nil {
				errs <- err
				return
			}
			errs <- remote.Write(ref, img, client.RemoteOptions(ctx)...)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Once, by the first image, before it uploaded the layer.
	if n := l.count("HEAD /v2/app/blobs/" + baseDigest.String()); n != 1 {
		t.Errorf("the shared base layer was checked %d times, want once", n)
	}
	// The base and its config, then each image's own layer and config:
	// the base is uploaded once.
	if n := l.count("PUT /v2/app/blobs/uploads"); n != 2+20*2 {
		t.Errorf("%d uploads for %d distinct blobs", n, 2+20*2)
	}
	l.mu.Lock()
	pings := l.seen["GET /v2/"]
	l.mu.Unlock()
	if pings != 1 {
		t.Errorf("%d pings, want 1", pings)
	}
}

// TestOnlyWhatCannotChangeIsReused: a config blob is read once; a tag
// and a manifest are asked every time (tags move, manifests are
// deleted), so a deletion is seen at once, by this client and by another
// one that had read the manifest before.
func TestOnlyWhatCannotChangeIsReused(t *testing.T) {
	l := &requestLog{inner: newRegistry(), seen: map[string]int{}}
	c, host := serve(t, l)
	other, _ := serve(t, l)
	other.Hosts = c.Hosts
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	d := push(t, host, "app:latest", nil).String()
	desc, err := c.Describe(ctx, repo, d)
	if err != nil {
		t.Fatal(err)
	}
	_ = desc
	configReads := l.count("GET /v2/app/blobs/")
	tagReads := l.count("GET /v2/app/manifests/latest") + l.count("HEAD /v2/app/manifests/latest")
	manifestReads := l.count("GET /v2/app/manifests/"+d) + l.count("HEAD /v2/app/manifests/"+d)
	for range 3 {
		if _, err := c.Describe(ctx, repo, d); err != nil {
			t.Fatal(err)
		}
		if got, err := c.ResolveTag(ctx, repo, "latest"); err != nil || got != d {
			t.Fatalf("latest = %s, %v", got, err)
		}
	}
	if n := l.count("GET /v2/app/blobs/") - configReads; n != 0 {
		t.Errorf("the config blob was read %d more times, want none", n)
	}
	if n := l.count("GET /v2/app/manifests/latest") + l.count("HEAD /v2/app/manifests/latest") - tagReads; n != 3 {
		t.Errorf("the tag was resolved %d times by the registry, want 3", n)
	}
	if n := l.count("GET /v2/app/manifests/"+d) + l.count("HEAD /v2/app/manifests/"+d) - manifestReads; n != 3 {
		t.Errorf("the manifest was asked %d times, want 3", n)
	}
	moved := push(t, host, "app:latest", nil).String()
	if got, err := c.ResolveTag(ctx, repo, "latest"); err != nil || got != moved {
		t.Errorf("a moved tag resolves to %s, %v; want %s", got, err, moved)
	}
	if _, err := other.Describe(ctx, repo, d); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, repo, d); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Size(ctx, repo, d); err == nil {
		t.Errorf("the deleted manifest is still found by the client that deleted it")
	}
	if _, err := other.Describe(ctx, repo, d); err == nil {
		t.Errorf("the deleted manifest is still found by another client")
	}
}

// TestAnswersAreKeptPerCredentials: what the registry told one
// Authorization is not answered to another.
func TestAnswersAreKeptPerCredentials(t *testing.T) {
	var asked atomic.Int32
	inner := newRegistry()
	c, host := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/sha256:") && r.Method == http.MethodHead {
			asked.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	d := push(t, host, "app:latest", nil).String()
	tr := c.transport()
	img, err := c.Describe(context.Background(), clusterRegistry+"/app", d)
	if err != nil {
		t.Fatal(err)
	}
	_ = img
	cfg := configDigest(t, host, d)
	asked.Store(0)
	for _, auth := range []string{"Bearer a", "Bearer b", "Bearer a", ""} {
		req, _ := http.NewRequest(http.MethodHead, "http://"+host+"/v2/app/blobs/"+cfg, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD = %d", resp.StatusCode)
		}
	}
	// Bearer a once, Bearer b once; the anonymous answer came with the
	// Describe above.
	if n := asked.Load(); n != 2 {
		t.Errorf("the registry was asked %d times for two new credentials, want 2", n)
	}
}

// configDigest is the config blob's digest of host/app@digest.
func configDigest(t *testing.T, host, digest string) string {
	t.Helper()
	ref, err := name.ParseReference(host+"/app@"+digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Config.Digest.String()
}

// schemeCounter counts the requests that reach the network, by scheme.
type schemeCounter struct {
	inner http.RoundTripper
	https atomic.Int32
	plain atomic.Int32
	mu    sync.Mutex
	seen  []string
}

func (c *schemeCounter) paths() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

func (c *schemeCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.seen = append(c.seen, req.URL.Path)
	c.mu.Unlock()
	if req.URL.Scheme == "https" {
		c.https.Add(1)
	} else {
		c.plain.Add(1)
	}
	return c.inner.RoundTrip(req)
}

// TestPlainHTTPRegistryIsAskedOverHTTPSOnce: go-containerregistry pings
// an insecure registry over HTTPS before every operation; once a
// plain-HTTP registry has answered one such ping, the next ones for
// plainHTTPTTL fail at once, without a connection, also when twenty
// operations start together, and every operation still succeeds over
// plain HTTP. After that it is asked again; a registry that speaks TLS
// is never taken for plain HTTP, and its ping is still answered once; an
// HTTPS ping that failed otherwise (nothing listening) is not
// remembered; and a registry that starts speaking TLS on the same
// address fails at most one operation.
func TestPlainHTTPRegistryIsAskedOverHTTPSOnce(t *testing.T) {
	ctx := context.Background()
	c, host := serve(t, newRegistry())
	counter := &schemeCounter{inner: http.DefaultTransport}
	c.Transport = counter
	d := push(t, host, "app:latest", nil).String()
	now := time.Now()
	c.state().responses.now = func() time.Time { return now }
	for i := range 5 {
		if _, err := c.Describe(ctx, clusterRegistry+"/app", d); err != nil {
			t.Fatalf("describe %d: %v", i, err)
		}
	}
	if n := counter.https.Load(); n != 1 {
		t.Errorf("%d HTTPS requests reached a plain-HTTP registry in five operations, want 1", n)
	}
	if counter.plain.Load() == 0 {
		t.Fatal("nothing was asked over plain HTTP")
	}
	now = now.Add(plainHTTPTTL + time.Second)
	if _, err := c.Describe(ctx, clusterRegistry+"/app", d); err != nil {
		t.Fatal(err)
	}
	if n := counter.https.Load(); n != 2 {
		t.Errorf("after plainHTTPTTL, %d HTTPS requests in all, want 2 (asked again)", n)
	}

	// Twenty operations at once, the first ones of a fresh client.
	burst := &schemeCounter{inner: http.DefaultTransport}
	bc := &Client{Hosts: c.Hosts, Insecure: c.Insecure, Transport: burst}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := bc.Describe(ctx, clusterRegistry+"/app", d); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := burst.https.Load(); n != 1 {
		t.Errorf("%d HTTPS pings reached a plain-HTTP registry for twenty concurrent operations, want 1", n)
	}

	// A registry that speaks TLS, listed as insecure: it is used over
	// HTTPS every time.
	tlsSrv := httptest.NewTLSServer(newRegistry())
	t.Cleanup(tlsSrv.Close)
	u, _ := url.Parse(tlsSrv.URL)
	secure := &schemeCounter{inner: tlsSrv.Client().Transport}
	sc := &Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}, Transport: secure}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(u.Host + "/app:latest")
	if err := remote.Write(ref, img, remote.WithTransport(tlsSrv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	sd, _ := img.Digest()
	for range 3 {
		if _, err := sc.Describe(ctx, clusterRegistry+"/app", sd.String()); err != nil {
			t.Fatal(err)
		}
	}
	if n := secure.plain.Load(); n != 0 {
		t.Errorf("a TLS registry was asked %d times over plain HTTP", n)
	}
	pings := 0
	for _, r := range secure.paths() {
		if r == "/v2/" {
			pings++
		}
	}
	if pings != 1 {
		t.Errorf("a TLS registry was pinged %d times in three operations, want 1", pings)
	}

	// Nothing listening: each ping fails on its own, none is answered
	// from memory.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	refused := &schemeCounter{inner: http.DefaultTransport}
	rc := &Client{Hosts: map[string]string{clusterRegistry: closed}, Insecure: []string{clusterRegistry}, Transport: refused, Timeout: 5 * time.Second}
	for range 2 {
		if _, err := rc.Describe(ctx, clusterRegistry+"/app", d); err == nil {
			t.Fatal("describe against nothing listening succeeded")
		}
	}
	if n := refused.https.Load(); n < 2 {
		t.Errorf("%d HTTPS pings reached the network for two operations against nothing listening; a refused connection must not be remembered", n)
	}

	// A registry that starts speaking TLS where a plain-HTTP one was,
	// within plainHTTPTTL: at most one operation fails, the next ones
	// speak HTTPS.
	reg := newRegistry()
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pl.Addr().String()
	plainSrv := &httptest.Server{Listener: pl, Config: &http.Server{Handler: reg}}
	plainSrv.Start()
	md := push(t, addr, "app:latest", nil).String()
	trust := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(trust.Close)
	tr := trust.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	moving := &schemeCounter{inner: tr}
	mc := &Client{Hosts: map[string]string{clusterRegistry: addr}, Insecure: []string{clusterRegistry}, Transport: moving, Timeout: 5 * time.Second}
	if _, err := mc.Describe(ctx, clusterRegistry+"/app", md); err != nil {
		t.Fatal(err)
	}
	plainSrv.Close()
	tl, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the address %s could not be listened on again: %v", addr, err)
	}
	tlsNow := &httptest.Server{Listener: tl, Config: &http.Server{Handler: reg}, TLS: trust.TLS}
	tlsNow.StartTLS()
	t.Cleanup(tlsNow.Close)
	failed := 0
	for range 3 {
		if _, err := mc.Describe(ctx, clusterRegistry+"/app", md); err != nil {
			failed++
		}
	}
	if failed > 1 {
		t.Errorf("%d of three operations failed after the registry started speaking TLS, want at most one", failed)
	}
	if _, err := mc.Describe(ctx, clusterRegistry+"/app", md); err != nil {
		t.Errorf("the registry that now speaks TLS is still not used over HTTPS: %v", err)
	}
}
