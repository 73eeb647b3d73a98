package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPlainHTTPOnlyForInsecure: a registry on loopback speaks plain
// HTTP only when Insecure lists it, through the client's own calls and
// through RemoteOptions, whatever the reference says.
func TestPlainHTTPOnlyForInsecure(t *testing.T) {
	srv := httptest.NewServer(newRegistry())
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	push(t, u.Host, "app:latest", nil)
	ctx := context.Background()
	_, port, _ := strings.Cut(u.Host, ":")
	for _, host := range []string{u.Host, "localhost:" + port} {
		strict := &Client{}
		if _, err := strict.ResolveTag(ctx, host+"/app", "latest"); !errors.Is(err, ErrPlainHTTP) || !strings.Contains(err.Error(), "insecure_registries") {
			t.Errorf("%s not listed as insecure: ResolveTag err = %v, want ErrPlainHTTP naming insecure_registries", host, err)
		}
		for _, opts := range [][]name.Option{nil, {name.Insecure}} {
			ref, err := name.ParseReference(host+"/app:latest", opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := remote.Head(ref, strict.RemoteOptions(ctx)...); !errors.Is(err, ErrPlainHTTP) {
				t.Errorf("%s through RemoteOptions: err = %v, want ErrPlainHTTP", ref, err)
			}
		}

		listed := &Client{Insecure: []string{host}}
		if _, err := listed.ResolveTag(ctx, host+"/app", "latest"); err != nil {
			t.Errorf("%s listed as insecure: %v", host, err)
		}
		ref, err := listed.Reference(ctx, host+"/app:latest")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := remote.Head(ref, listed.RemoteOptions(ctx)...); err != nil {
			t.Errorf("%s listed as insecure, through RemoteOptions: %v", host, err)
		}
	}
}

// recordingTransport answers every request with err and records the
// URLs it was asked for.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
	err  error
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.urls = append(r.urls, req.URL.String())
	return nil, r.err
}

// TestPrivateAddressNotPlainHTTP: go-containerregistry would fall back
// to plain HTTP for an RFC 1918 address; the client must not even try.
func TestPrivateAddressNotPlainHTTP(t *testing.T) {
	rt := &recordingTransport{err: errors.New("no TLS here")}
	c := &Client{Transport: rt}
	_, err := c.ResolveTag(context.Background(), "10.1.2.3:5000/app", "latest")
	if !errors.Is(err, ErrPlainHTTP) {
		t.Fatalf("err = %v, want ErrPlainHTTP", err)
	}
	for _, u := range rt.urls {
		if strings.HasPrefix(u, "http:") {
			t.Errorf("asked %s over plain HTTP", u)
		}
	}

	guard := (&Client{Transport: rt, Insecure: []string{"10.1.2.3:5000"}}).transport()
	rt.urls = nil
	req := httptest.NewRequest(http.MethodGet, "http://10.1.2.3:5000/v2/", nil)
	if _, err := guard.RoundTrip(req); errors.Is(err, ErrPlainHTTP) || len(rt.urls) != 1 {
		t.Errorf("a listed address was refused plain HTTP: %v", err)
	}
}
