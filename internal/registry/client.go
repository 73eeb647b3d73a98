package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

var (
	// ErrNotFound means the registry answered and does not have the
	// manifest or tag.
	ErrNotFound = errors.New("not found in registry")
	// ErrUnreachable means the registry could not be asked: connection
	// refused, DNS failure, timeout, TLS failure.
	ErrUnreachable = errors.New("registry unreachable")
)

// Client talks to registries. The zero value uses the default keychain
// and transport and no host mapping.
type Client struct {
	// Hosts maps a registry host[:port] as the cluster sees it to one this
	// process can reach, for example
	// "registry.kube-system.svc.cluster.local:5000" to "localhost:5000".
	Hosts map[string]string
	// Insecure lists registries (as the cluster sees them, or mapped) that
	// may be spoken to over plain HTTP.
	Insecure []string
	// Keychain supplies credentials; nil means the Docker config of the
	// user running Terraform.
	Keychain authn.Keychain
	// Transport is the HTTP transport; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Timeout bounds each operation (default 30s).
	Timeout time.Duration
	// Forwards reach registries that only the cluster can reach, by
	// their name as the cluster sees it, through a port-forward started
	// on first use (see kube.ServiceForward).
	Forwards map[string]Forwarder
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
// its keychain and transport, bound to ctx.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option { return c.options(ctx) }

func (c *Client) options(ctx context.Context) []remote.Option {
	kc := c.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if c.Transport != nil {
		opts = append(opts, remote.WithTransport(c.Transport))
	}
	return opts
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
		return nil, classify(err, "reading manifest "+ref.String())
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
		}
		img.Annotations = m.Annotations
		return img, nil
	}
	image, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("decoding image %s: %w", ref, err)
	}
	manifest, err := image.Manifest()
	if err != nil {
		return nil, classify(err, "reading manifest "+ref.String())
	}
	img.Size = manifest.Config.Size
	for _, l := range manifest.Layers {
		img.Size += l.Size
	}
	img.Annotations = manifest.Annotations
	cfg, err := image.ConfigFile()
	if err != nil {
		return nil, classify(err, "reading image config of "+ref.String())
	}
	img.Created = cfg.Created.Time
	img.Labels = cfg.Config.Labels
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
		return 0, classify(err, "reading manifest "+ref.String())
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
		return "", classify(err, "resolving tag "+ref.String())
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
		return classify(err, "reading manifest "+src.String())
	}
	dst, err := c.reference(ctx, repository, ":"+tag)
	if err != nil {
		return err
	}
	if err := remote.Tag(dst.(name.Tag), desc, c.options(ctx)...); err != nil {
		return classify(err, "tagging "+dst.String())
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
	err = classify(err, "deleting "+ref.String())
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// classify wraps err with ErrNotFound or ErrUnreachable where it is one.
func classify(err error, what string) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		if terr.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s: %w: %v", what, ErrNotFound, err)
		}
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return fmt.Errorf("%s: %w: %v", what, ErrNotFound, err)
			}
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
	err = classify(err, "checking "+r.String())
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
		return "", classify(err, "resolving "+r.String())
	}
	return desc.Digest.String(), nil
}
