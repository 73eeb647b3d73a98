package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// apiVersionHeader is what the distribution registry, and most others,
// send with every answer, /v2/ included.
const apiVersionHeader = "Docker-Distribution-API-Version"

// pingResult is one registry address's answer to GET /v2/, shared by
// every lookup that waits for it.
type pingResult struct {
	done     chan struct{}
	registry bool
	err      error
}

// answersAsRegistry reports whether a registry answers at reg's address.
// It does when GET /v2/ answers 200 or 401 with
// Docker-Distribution-API-Version: registry/2.0, or 401 with a Bearer
// challenge (the distribution spec's token handshake, which some
// registries send without the header). A 200 without the header is not
// enough: a catch-all web server or proxy answers 200 to any path. The
// answer is cached per address for the client's life, so a refresh of
// many images pings once; a failure to ask is not cached.
func (c *Client) answersAsRegistry(ctx context.Context, reg name.Registry) (bool, error) {
	s := c.state()
	addr := reg.RegistryStr()
	s.mu.Lock()
	p, asked := s.pings[addr]
	if !asked {
		p = &pingResult{done: make(chan struct{})}
		s.pings[addr] = p
	}
	s.mu.Unlock()
	if !asked {
		p.registry, p.err = c.ping(ctx, reg)
		if p.err != nil {
			s.mu.Lock()
			delete(s.pings, addr)
			s.mu.Unlock()
		}
		close(p.done)
	}
	select {
	case <-p.done:
		return p.registry, p.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// ping asks GET /v2/ over HTTPS and, where go-containerregistry would
// fall back to it, plain HTTP: the first scheme that gets an answer
// decides.
func (c *Client) ping(ctx context.Context, reg name.Registry) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	schemes := []string{"https"}
	if reg.Scheme() == "http" {
		schemes = append(schemes, "http")
	}
	client := &http.Client{Transport: c.transport()}
	var errs []error
	for _, scheme := range schemes {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+reg.RegistryStr()+"/v2/", nil)
		if err != nil {
			return false, fmt.Errorf("pinging %s: %w", reg.RegistryStr(), err)
		}
		resp, err := client.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return registryAnswer(resp), nil
	}
	return false, fmt.Errorf("pinging %s: %w", reg.RegistryStr(), errors.Join(errs...))
}

// registryAnswer tells a registry's answer to /v2/ from anything else's.
func registryAnswer(resp *http.Response) bool {
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	if strings.HasPrefix(resp.Header.Get(apiVersionHeader), "registry/2.0") {
		return true
	}
	if resp.StatusCode == http.StatusUnauthorized {
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "bearer ") {
				return true
			}
		}
	}
	return false
}

// classify wraps err, from reading or deleting a manifest or listing
// tags at reg, with ErrNotFound or ErrUnreachable where it is one. Not
// found is what a registry says: its MANIFEST_UNKNOWN or NAME_UNKNOWN
// error codes, or a bare 404 (answers to HEAD have no body) from an
// address that answers as a registry (see answersAsRegistry). A 404 from
// anything else, such as a wrong port, a proxy's error page or a
// port-forward to the wrong pod, is ErrUnreachable: the registry was not
// reached, so callers keep what they know instead of concluding that
// the image was deleted.
func (c *Client) classify(ctx context.Context, reg name.Registry, err error, what string) error {
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound || hasNotFoundCode(terr) {
		return classifyCodes(err, what)
	}
	if terr.Request != nil && strings.TrimSuffix(terr.Request.URL.Path, "/") == "/v2" {
		// go-containerregistry's own ping got the 404.
		return fmt.Errorf("%s: %w: %s answers /v2/ with 404, so it is not a registry: %v", what, ErrUnreachable, reg.RegistryStr(), err)
	}
	isRegistry, perr := c.answersAsRegistry(ctx, reg)
	switch {
	case perr != nil:
		return fmt.Errorf("%s: %w (whether a registry answered could not be checked: %v)", what, err, perr)
	case isRegistry:
		return fmt.Errorf("%s: %w: %v", what, ErrNotFound, err)
	default:
		return fmt.Errorf("%s: %w: %s does not answer /v2/ as a registry does: %v", what, ErrUnreachable, reg.RegistryStr(), err)
	}
}

func hasNotFoundCode(terr *transport.Error) bool {
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
			return true
		}
	}
	return false
}
