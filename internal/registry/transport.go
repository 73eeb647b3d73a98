package registry

import (
	"fmt"
	"net/http"
	"strings"
)

// httpsOnly refuses plain HTTP to every host the client may not speak
// it to. go-containerregistry falls back to plain HTTP by itself for
// localhost, loopback, *.local and RFC 1918 addresses
// (name.Registry.Scheme, which transport.Ping and every request URL
// follow) whether or not they were asked to be insecure; under all of
// go-containerregistry's wrappers the transport is the one place that
// sees every request, the ping's fallback and redirects included.
type httpsOnly struct {
	inner   http.RoundTripper
	allowed func(host string) bool
}

// RoundTrip implements http.RoundTripper.
func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.allowed(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, fmt.Errorf("%w: %s would have been contacted over plain HTTP, the fallback for local and private addresses; "+
			"list it in insecure_registries if it has no TLS", ErrPlainHTTP, req.URL.Host)
	}
	return t.inner.RoundTrip(req)
}

// plainHTTPAllowed reports whether host may be spoken to over plain
// HTTP: a registry listed in Insecure, by its cluster name or by the
// address Hosts maps that name to, or the local end of a port-forward,
// which is on this machine's loopback.
func (c *Client) plainHTTPAllowed(host string) bool {
	for _, h := range c.Insecure {
		if strings.EqualFold(h, host) {
			return true
		}
		if mapped, ok := c.Hosts[h]; ok && strings.EqualFold(mapped, host) {
			return true
		}
	}
	_, forwarded := c.forwardedName(host)
	return forwarded
}
