package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// serve starts h and returns a client that maps the cluster's registry
// name to it (over plain HTTP, as listed insecure).
func serve(t *testing.T, h http.Handler) (*Client, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}}, u.Host
}

// TestNotARegistryIsNotNotFound: whatever answers 404 without being a
// registry (a wrong port, a proxy's error page, a port-forward to the
// wrong pod) must not read as "the image was deleted".
func TestNotARegistryIsNotNotFound(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"plain 404": http.NotFound,
		"html 404 with /v2/ 200": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				w.Write([]byte("<html>welcome</html>"))
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("<html><h1>404 Not Found</h1></html>"))
		},
		"404 after /v2/ 401 without a registry challenge": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.NotFound(w, r)
		},
		// 501 rather than 503: go-containerregistry retries 503 with a
		// backoff that would make the test slow.
		"registry answering 5xx": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			if r.URL.Path == "/v2/" {
				return
			}
			http.Error(w, "not implemented", http.StatusNotImplemented)
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := serve(t, h)
			ctx := context.Background()
			repo := clusterRegistry + "/app"
			digest := "sha256:" + strings.Repeat("0", 64)
			checks := map[string]error{}
			_, checks["Size"] = c.Size(ctx, repo, digest)
			_, checks["Describe"] = c.Describe(ctx, repo, digest)
			_, checks["ResolveTag"] = c.ResolveTag(ctx, repo, "latest")
			_, checks["Digest"] = c.Digest(ctx, repo+":latest")
			_, checks["ListTags"] = c.ListTags(ctx, repo)
			checks["Delete"] = c.Delete(ctx, repo, digest)
			checks["Reachable"] = c.Reachable(ctx, repo+":latest")
			for op, err := range checks {
				if err == nil {
					t.Errorf("%s succeeded against something that is not a registry", op)
				} else if errors.Is(err, ErrNotFound) {
					t.Errorf("%s: %v reads as ErrNotFound", op, err)
				}
			}
		})
	}
}

// TestGenuineNotFound: a registry that answers /v2/ and then 404 (with
// or without an error body, as on HEAD) does not have the manifest.
func TestGenuineNotFound(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	push(t, host, "app:latest", nil)
	missing := "sha256:" + strings.Repeat("0", 64)
	if _, err := c.Size(ctx, repo, missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("Size: %v, want ErrNotFound", err)
	}
	if _, err := c.ResolveTag(ctx, repo, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveTag (HEAD, no error body): %v, want ErrNotFound", err)
	}
	if _, err := c.Digest(ctx, clusterRegistry+"/other:latest"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Digest of an unknown repository: %v, want ErrNotFound", err)
	}
	if err := c.Reachable(ctx, repo+":missing"); err != nil {
		t.Errorf("Reachable: %v, want nil (the registry answered)", err)
	}
}

// TestRegistryPingCached: classifying many HEAD 404s pings /v2/ once
// more than go-containerregistry itself does, however many run at once.
func TestRegistryPingCached(t *testing.T) {
	var pings atomic.Int64
	reg := newRegistry()
	c, host := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			pings.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	push(t, host, "app:latest", nil)
	pings.Store(0)
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.ResolveTag(context.Background(), clusterRegistry+"/app", "missing"); !errors.Is(err, ErrNotFound) {
				t.Errorf("ResolveTag: %v, want ErrNotFound", err)
			}
		}()
	}
	wg.Wait()
	// go-containerregistry pings once per operation; ours must add one.
	if got := pings.Load(); got > n+1 {
		t.Errorf("%d pings of /v2/ for %d lookups, want at most %d", got, n, n+1)
	}
}
