package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

var (
	// ErrNotFound means the registry answered and does not have the
	// manifest or tag.
	ErrNotFound = errors.New("not found in registry")
	// ErrUnreachable means the registry could not be asked: connection
	// refused, DNS failure, timeout, TLS failure, or something other than
	// a registry answering at its address.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrPlainHTTP means the client refused to speak plain HTTP to a
	// registry that Insecure does not list.
	ErrPlainHTTP = errors.New("plain HTTP to a registry not listed in insecure_registries")
	// ErrTagDeleteUnsupported means the registry cannot remove a tag
	// without deleting its manifest.
	ErrTagDeleteUnsupported = errors.New("the registry does not delete tags")
)

// Client talks to registries. The zero value uses the default keychain
// and transport and no host mapping.
type Client struct {
	// Hosts maps a registry host[:port] as the cluster sees it to one this
	// process can reach, for example
	// "registry.kube-system.svc.cluster.local:5000" to "localhost:5000".
	Hosts map[string]string
	// Insecure lists registries (as the cluster sees them, or mapped) that
	// may be spoken to over plain HTTP. Every other registry, local and
	// private addresses included, is spoken to over HTTPS only;
	// registries reached through Forwards are spoken to over plain HTTP
	// at the tunnel's local end.
	Insecure []string
	// Keychain supplies credentials; nil means the Docker config of the
	// user running Terraform. For a registry reached through Forwards it
	// is asked under the registry's cluster name first, then under the
	// tunnel's local address.
	Keychain authn.Keychain
	// Transport is the HTTP transport; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Timeout bounds each operation (default 30s).
	Timeout time.Duration
	// Forwards reach registries that only the cluster can reach, by
	// their name as the cluster sees it, through a port-forward started
	// on first use (see kube.ServiceForward).
	Forwards map[string]Forwarder

	// shared is what the client learns as it runs; copies made by
	// WithKeychain share it.
	shared *shared
	// reads coalesces reads of a repository's tags (see tagReads); a
	// copy made by WithKeychain has its own.
	reads *tagReads
}

// shared holds what a client learns about the registries it talks to.
type shared struct {
	mu sync.Mutex
	// pings caches, per registry address, whether a registry answers
	// there (see answersAsRegistry).
	pings map[string]*pingResult
	// forwards maps the local address of each port-forward started to
	// the registry's name as the cluster sees it.
	forwards map[string]string
	// manifestWithTag records registry addresses where deleting a tag
	// deleted its manifest too.
	manifestWithTag map[string]bool
	// responses are the registries' answers that may be given again
	// (see reuse).
	responses *responseCache
}

// sharedInit guards the lazy creation of Client.shared, which keeps the
// zero Client usable.
var sharedInit sync.Mutex

func (c *Client) state() *shared {
	sharedInit.Lock()
	defer sharedInit.Unlock()
	if c.shared == nil {
		c.shared = &shared{pings: map[string]*pingResult{}, forwards: map[string]string{}, manifestWithTag: map[string]bool{}, responses: newResponseCache()}
	}
	return c.shared
}

// Forwarder gives a local address that reaches a registry.
type Forwarder interface {
	Address(ctx context.Context) (string, error)
}

// Image describes a manifest in a registry.
type Image struct {
	Repository string
	Digest     string
	MediaType  string
	// Size is the compressed size: config plus layers, as in the manifest.
	Size int64
	// Platforms are the index's images' platforms, sorted, or the
	// image's own (os/arch[/variant] from its config).
	Platforms []string
	// Created, Labels and Annotations come from the image config and
	// manifest; zero when the manifest is an index.
	Created     time.Time
	Labels      map[string]string
	Annotations map[string]string
}

// Address returns the host this client contacts for a repository.
func (c *Client) Address(repository string) string {
	host, rest, _ := strings.Cut(repository, "/")
	if mapped, ok := c.Hosts[host]; ok && mapped != "" {
		return mapped + "/" + rest
	}
	if _, ok := c.Forwards[host]; ok {
		return repository + " (through a port-forward)"
	}
	return repository
}

// address is Address with port-forwards started as needed.
func (c *Client) address(ctx context.Context, repository string) (string, error) {
	host, rest, _ := strings.Cut(repository, "/")
	if f, ok := c.Forwards[host]; ok {
		if _, mapped := c.Hosts[host]; !mapped {
			local, err := f.Address(ctx)
			if err != nil {
				return "", fmt.Errorf("port-forwarding to registry %s: %w: %v", host, ErrUnreachable, err)
			}
			s := c.state()
			s.mu.Lock()
			s.forwards[local] = host
			s.mu.Unlock()
			return local + "/" + rest, nil
		}
	}
	return c.Address(repository), nil
}

func (c *Client) insecure(repository, address string) bool {
	host, _, _ := strings.Cut(repository, "/")
	mapped, _, _ := strings.Cut(address, "/")
	if _, forwarded := c.Forwards[host]; forwarded && mapped != host {
		// The tunnel ends on this machine's loopback, where TLS would
		// not match the registry's name anyway.
		return true
	}
	for _, h := range c.Insecure {
		if h == host || h == mapped {
			return true
		}
	}
	return false
}

func (c *Client) reference(ctx context.Context, repository, suffix string) (name.Reference, error) {
	address, err := c.address(ctx, repository)
	if err != nil {
		return nil, err
	}
	var opts []name.Option
	if c.insecure(repository, address) {
		opts = append(opts, name.Insecure)
	}
	s := address + suffix
	ref, err := name.ParseReference(s, opts...)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %s: %w", s, err)
	}
	return ref, nil
}

// Reference parses an image reference as the cluster names it
// (repository with a tag or digest) into the reference this process
// contacts: the registry mapped through Hosts, plain HTTP where Insecure
// says so.
func (c *Client) Reference(ctx context.Context, ref string) (name.Reference, error) {
	parsed, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %s: %w", ref, err)
	}
	repo := parsed.Context().Name()
	suffix := strings.TrimPrefix(parsed.String(), repo)
	if suffix == parsed.String() {
		suffix = ":" + parsed.Identifier()
	}
	return c.reference(ctx, repo, suffix)
}

// RemoteOptions are the go-containerregistry options this client uses:
// its keychain and transport, bound to ctx. The transport speaks plain
// HTTP only where the client would (see Insecure), whatever reference
// the options are used with.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option { return c.options(ctx) }

func (c *Client) options(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(c.keychain()), remote.WithTransport(c.transport())}
}

// keychain is where the client's credentials come from.
func (c *Client) keychain() authn.Keychain {
	kc := c.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return forwardKeychain{inner: kc, c: c}
}

// transport is the HTTP transport every request of this client goes
// through.
func (c *Client) transport() http.RoundTripper {
	inner := c.Transport
	if inner == nil {
		inner = remote.DefaultTransport
	}
	return httpsOnly{inner: reuse{inner: inner, cache: c.state().responses}, allowed: c.plainHTTPAllowed}
}

// forwardedName returns the registry, as the cluster names it, that a
// started port-forward's local address reaches.
func (c *Client) forwardedName(local string) (string, bool) {
	s := c.state()
	s.mu.Lock()
	defer s.mu.Unlock()
	cluster, ok := s.forwards[local]
	return cluster, ok
}

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	t := c.Timeout
	if t == 0 {
		t = 30 * time.Second
	}
	return context.WithTimeout(ctx, t)
}

// Describe reads the manifest repository@digest and the image config.
func (c *Client) Describe(ctx context.Context, repository, digest string) (*Image, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, c.options(ctx)...)
	if err != nil {
		return nil, c.classify(ctx, ref.Context().Registry, err, "reading manifest "+ref.String())
	}
	img := &Image{Repository: repository, Digest: desc.Digest.String(), MediaType: string(desc.MediaType)}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("decoding index %s: %w", ref, err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("decoding index %s: %w", ref, err)
		}
		for _, d := range m.Manifests {
			img.Size += d.Size
			if d.Platform != nil && d.Platform.OS != "unknown" {
				img.Platforms = append(img.Platforms, d.Platform.String())
			}
		}
		sort.Strings(img.Platforms)
		img.Annotations = m.Annotations
		return img, nil
	}
	image, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("decoding image %s: %w", ref, err)
	}
	manifest, err := image.Manifest()
	if err != nil {
		return nil, classifyCodes(err, "reading manifest "+ref.String())
	}
	img.Size = manifest.Config.Size
	for _, l := range manifest.Layers {
		img.Size += l.Size
	}
	img.Annotations = manifest.Annotations
	cfg, err := image.ConfigFile()
	if err != nil {
		// A blob missing under a manifest that exists is not the image
		// gone: only a registry's error code says not found here.
		return nil, classifyCodes(err, "reading image config of "+ref.String())
	}
	img.Created = cfg.Created.Time
	img.Labels = cfg.Config.Labels
	if cfg.OS != "" && cfg.Architecture != "" {
		img.Platforms = []string{(&v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}).String()}
	}
	return img, nil
}

// Size reads only the manifest repository@digest and returns the
// compressed size it records (config plus layers, or the sum of an
// index's manifests): what drift detection needs, in one request.
func (c *Client) Size(ctx context.Context, repository, digest string) (int64, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return 0, err
	}
	desc, err := remote.Get(ref, c.options(ctx)...)
	if err != nil {
		return 0, c.classify(ctx, ref.Context().Registry, err, "reading manifest "+ref.String())
	}
	var m struct {
		Config    struct{ Size int64 }   `json:"config"`
		Layers    []struct{ Size int64 } `json:"layers"`
		Manifests []struct{ Size int64 } `json:"manifests"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return 0, fmt.Errorf("decoding manifest %s: %w", ref, err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	for _, l := range m.Manifests {
		size += l.Size
	}
	return size, nil
}

// ResolveTag returns the digest repository:tag points to.
func (c *Client) ResolveTag(ctx context.Context, repository, tag string) (string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, ":"+tag)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(ref, c.options(ctx)...)
	if err != nil {
		return "", c.classify(ctx, ref.Context().Registry, err, "resolving tag "+ref.String())
	}
	return desc.Digest.String(), nil
}

// Tag points repository:tag at repository@digest.
func (c *Client) Tag(ctx context.Context, repository, digest, tag string) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	src, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return err
	}
	desc, err := remote.Get(src, c.options(ctx)...)
	if err != nil {
		return c.classify(ctx, src.Context().Registry, err, "reading manifest "+src.String())
	}
	dst, err := c.reference(ctx, repository, ":"+tag)
	if err != nil {
		return err
	}
	if err := remote.Tag(dst.(name.Tag), desc, c.options(ctx)...); err != nil {
		return classifyCodes(err, "tagging "+dst.String())
	}
	return nil
}

// Delete removes the manifest repository@digest. A manifest that is
// already gone is not an error.
func (c *Client) Delete(ctx context.Context, repository, digest string) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return err
	}
	err = remote.Delete(ref, c.options(ctx)...)
	if err == nil {
		return nil
	}
	err = c.classify(ctx, ref.Context().Registry, err, "deleting "+ref.String())
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// classifyCodes wraps err with ErrNotFound where a registry's error
// code says so, and with ErrUnreachable where the registry could not be
// asked. A bare 404 is left alone: it says nothing about who answered
// (see classify).
func classifyCodes(err error, what string) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		if hasNotFoundCode(terr) {
			return fmt.Errorf("%s: %w: %v", what, ErrNotFound, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) || (errors.As(err, &netErr) && netErr.Timeout()) ||
		errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:") {
		return fmt.Errorf("%s: %w: %v", what, ErrUnreachable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Reachable reports whether the registry holding ref answers, with ref's
// manifest or without it: only ErrUnreachable (and other transport
// failures) count as unreachable.
func (c *Client) Reachable(ctx context.Context, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := c.Reference(ctx, ref)
	if err != nil {
		return err
	}
	_, err = remote.Head(r, c.options(ctx)...)
	if err == nil {
		return nil
	}
	err = c.classify(ctx, r.Context().Registry, err, "checking "+r.String())
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Digest resolves a reference (as the cluster names it) to the digest
// of its manifest, or of its index for a multi-platform image.
func (c *Client) Digest(ctx context.Context, ref string) (string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	r, err := c.Reference(ctx, ref)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(r, c.options(ctx)...)
	if err != nil {
		return "", c.classify(ctx, r.Context().Registry, err, "resolving "+r.String())
	}
	return desc.Digest.String(), nil
}
