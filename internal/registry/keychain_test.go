package registry

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestDockerConfigKeychain(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("builder:s3cret"))
	cfg := `{"auths":{"` + clusterRegistry + `":{"auth":"` + auth + `"},"https://index.docker.io/v1/":{"username":"hub","password":"pw"}}}`
	kc, err := DockerConfigKeychain([]byte(cfg), map[string]string{clusterRegistry: "localhost:5000"})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		clusterRegistry + "/app": "builder:s3cret",
		"localhost:5000/app":     "builder:s3cret", // the mapped address
		"busybox":                "hub:pw",
		"other.example.com/app":  "",
	} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(r.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Username + ":" + cfg.Password; (want == "" && a != authn.Anonymous) || (want != "" && got != want) {
			t.Errorf("%s: credentials %q, want %q", ref, got, want)
		}
	}
	if _, err := DockerConfigKeychain([]byte(`{"auths":{"x":{"auth":"not base64!"}}}`), nil); err == nil {
		t.Error("a broken auth was accepted")
	}
}

// requireBasicAuth serves h only to requests with user:pass.
func requireBasicAuth(user, pass string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set(apiVersionHeader, "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestForwardedRegistryCredentials: credentials stored under a
// port-forwarded registry's cluster name are used at the tunnel's local
// address, for the client's own calls and for a push through
// RemoteOptions (as the direct executor does).
func TestForwardedRegistryCredentials(t *testing.T) {
	srv := httptest.NewServer(requireBasicAuth("builder", "s3cret", newRegistry()))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	const cluster = "registry.builds.svc.cluster.local:5000"
	auth := base64.StdEncoding.EncodeToString([]byte("builder:s3cret"))
	kc, err := DockerConfigKeychain([]byte(`{"auths":{"`+cluster+`":{"auth":"`+auth+`"}}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Forwards: map[string]Forwarder{cluster: &fakeForward{addr: u.Host}}, Keychain: kc}
	ctx := context.Background()

	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.Reference(ctx, cluster+"/app:latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, c.RemoteOptions(ctx)...); err != nil {
		t.Fatalf("pushing through the forward: %v", err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.ResolveTag(ctx, cluster+"/app", "latest"); err != nil || got != want.String() {
		t.Fatalf("ResolveTag through the forward = %q, %v; want %s", got, err, want)
	}
	if _, err := c.WithKeychain(authn.NewMultiKeychain()).Describe(ctx, cluster+"/app", want.String()); err != nil {
		t.Fatalf("a copy made by WithKeychain lost the forward's credentials: %v", err)
	}
}
