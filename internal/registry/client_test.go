package registry

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const clusterRegistry = "registry.kube-system.svc.cluster.local:5000"

// newRegistry is go-containerregistry's in-memory registry, quiet.
func newRegistry() http.Handler {
	return registry.New(registry.Logger(log.New(io.Discard, "", 0)))
}

// testRegistry serves go-containerregistry's in-memory registry and
// returns a client that maps the cluster's registry name to it.
func testRegistry(t *testing.T) (*Client, string) {
	t.Helper()
	srv := httptest.NewServer(newRegistry())
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}}, u.Host
}

func push(t *testing.T, host, repoTag string, labels map[string]string) v1.Hash {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Config.Labels = labels
	cfg.Created = v1.Time{Time: time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDescribeResolveTagDelete(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/new-image"
	digest := push(t, host, "new-image:latest", map[string]string{"built-by": "test"})

	img, err := c.Describe(ctx, repo, digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != digest.String() || img.Size < 2*1024 || img.Labels["built-by"] != "test" || img.Created.Year() != 2026 {
		t.Fatalf("Describe = %+v", img)
	}
	got, err := c.ResolveTag(ctx, repo, "latest")
	if err != nil || got != digest.String() {
		t.Fatalf("ResolveTag = %q, %v", got, err)
	}
	if _, err := c.ResolveTag(ctx, repo, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ResolveTag(missing) err = %v, want ErrNotFound", err)
	}
	if err := c.Tag(ctx, repo, digest.String(), "v2"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ResolveTag(ctx, repo, "v2"); err != nil || got != digest.String() {
		t.Fatalf("after Tag, v2 = %q, %v", got, err)
	}
	if err := c.Delete(ctx, repo, digest.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Describe(ctx, repo, digest.String()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Describe after delete err = %v, want ErrNotFound", err)
	}
	if err := c.Delete(ctx, repo, digest.String()); err != nil {
		t.Fatalf("deleting a deleted manifest = %v, want success", err)
	}
}

func TestUnreachable(t *testing.T) {
	c := &Client{Hosts: map[string]string{clusterRegistry: "127.0.0.1:1"}, Insecure: []string{clusterRegistry}, Timeout: 5 * time.Second}
	_, err := c.Describe(context.Background(), clusterRegistry+"/x", "sha256:"+strings.Repeat("0", 64))
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatal("an unreachable registry was reported as not found")
	}
}

func TestAddress(t *testing.T) {
	c := &Client{Hosts: map[string]string{clusterRegistry: "localhost:5000"}}
	if got := c.Address(clusterRegistry + "/team/app"); got != "localhost:5000/team/app" {
		t.Errorf("Address = %q", got)
	}
	if got := c.Address("ghcr.io/org/app"); got != "ghcr.io/org/app" {
		t.Errorf("unmapped Address = %q", got)
	}
	mappedInsecure := &Client{Insecure: []string{"localhost:5000"}, Hosts: c.Hosts}
	if !mappedInsecure.insecure(clusterRegistry+"/a", mappedInsecure.Address(clusterRegistry+"/a")) {
		t.Error("a mapped host listed as insecure was not treated as insecure")
	}
}

// fakeForward counts how often the tunnel was asked for.
type fakeForward struct {
	addr  string
	calls int
}

func (f *fakeForward) Address(context.Context) (string, error) {
	f.calls++
	return f.addr, nil
}

func TestForwardedRegistry(t *testing.T) {
	_, host := testRegistry(t)
	fw := &fakeForward{addr: host}
	c := &Client{Forwards: map[string]Forwarder{"registry.builds.svc.cluster.local:5000": fw}}
	repo := "registry.builds.svc.cluster.local:5000/app"
	push(t, host, "app:latest", nil)
	if _, err := c.ResolveTag(context.Background(), repo, "latest"); err != nil {
		t.Fatalf("resolving through the forward: %v", err)
	}
	if fw.calls == 0 {
		t.Fatal("the forward was not used")
	}
	if got := c.Address(repo); !strings.Contains(got, "port-forward") {
		t.Errorf("Address = %q, want it to say the registry is reached through a port-forward", got)
	}
}
