package registry

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// reuse answers again, within one process, what a registry already said
// and cannot have changed: a blob addressed by its digest exists (and
// its content, when small: a config), a registry's answer to the /v2/
// ping, and a token for the same scope and credentials. A hundred builds
// of one base in one apply then ask the registry once whether the base's
// layers are there, read its config once, and authenticate once per
// scope, where go-containerregistry on its own pings, fetches a token and
// checks every layer for every image. Concurrent identical requests wait
// for the first one's answer. Manifests are always asked: they are what
// deletes and retention remove, and whether one still exists is what
// drift detection and the callers' checks ask.
//
// Entries are keyed by method-independent URL and the request's
// Authorization header, so what one set of credentials was told is never
// answered to another. Deleting anything from a repository forgets what was learned of it.
type reuse struct {
	inner http.RoundTripper
	cache *responseCache
}

// responseCache is shared by the copies of a client.
type responseCache struct {
	mu       sync.Mutex
	entries  map[string]*cachedResponse
	inFlight map[string]chan struct{}
	now      func() time.Time
	// plainHTTP holds, per host, the error of an HTTPS ping that a
	// plain-HTTP registry answered, until it expires.
	plainHTTP map[string]plainHTTPAnswer
}

// plainHTTPAnswer is what an HTTPS ping of a plain-HTTP registry got.
type plainHTTPAnswer struct {
	err     error
	expires time.Time
}

type cachedResponse struct {
	status  int
	header  http.Header
	body    []byte // nil for an answer to HEAD
	expires time.Time
	// headOnly entries know that a blob exists, not its size.
	headOnly bool
}

const (
	// pingTTL and tokenTTL keep answers that can change for little
	// longer than one apply's burst of requests; tokens live for
	// minutes (Docker's distribution: five).
	pingTTL  = time.Minute
	tokenTTL = time.Minute
	// plainHTTPTTL is shorter: a registry that starts speaking TLS on
	// the same address is found within it.
	plainHTTPTTL = 10 * time.Second
	// contentTTL bounds how long an immutable answer is kept (a blob
	// may be garbage-collected after its manifest is deleted elsewhere).
	contentTTL = 10 * time.Minute
	// maxCachedBody is the largest body kept: manifests and configs, not
	// layers.
	maxCachedBody = 4 << 20
)

var blobByDigest = regexp.MustCompile(`^/v2/.+/blobs/sha256:[a-f0-9]{64}$`)

func newResponseCache() *responseCache {
	return &responseCache{entries: map[string]*cachedResponse{}, inFlight: map[string]chan struct{}{}, now: time.Now,
		plainHTTP: map[string]plainHTTPAnswer{}}
}

// kind says whether and for how long a request's answer may be reused.
func kind(req *http.Request) (ttl time.Duration, ok bool) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return 0, false
	}
	switch {
	case req.URL.Path == "/v2/" && req.URL.RawQuery == "":
		return pingTTL, true
	case blobByDigest.MatchString(req.URL.Path) && req.URL.RawQuery == "":
		return contentTTL, true
	case req.Method == http.MethodGet && req.URL.Query().Get("scope") != "" && req.URL.Query().Get("service") != "":
		return tokenTTL, true
	}
	return 0, false
}

func cacheKey(req *http.Request) string {
	return req.URL.Scheme + "://" + req.URL.Host + req.URL.RequestURI() + "\x00" + req.Header.Get("Authorization") + "\x00" + req.Header.Get("Accept")
}

// RoundTrip implements http.RoundTripper.
func (t reuse) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete {
		t.cache.forget(req)
		return t.inner.RoundTrip(req)
	}
	if referrersQuery.MatchString(req.URL.Path) && req.Method == http.MethodGet {
		return t.referrers(req)
	}
	ttl, ok := kind(req)
	if !ok {
		resp, err := t.inner.RoundTrip(req)
		if err == nil {
			t.cache.noteUpload(req, resp)
			t.cache.notePlainHTTPAnswer(req, resp)
		}
		return resp, err
	}
	key := cacheKey(req)
	for {
		if isHTTPSPing(req) {
			// Asked again after a concurrent identical ping failed, too.
			if err := t.cache.plainHTTPAnswer(req); err != nil {
				return nil, err
			}
		}
		if resp, ok := t.cache.answer(key, req); ok {
			return resp, nil
		}
		wait, first := t.cache.claim(key)
		if first {
			break
		}
		select {
		case <-wait:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	defer t.cache.release(key)
	resp, err := t.inner.RoundTrip(req)
	if err != nil && isHTTPSPing(req) {
		t.cache.notePlainHTTP(req, err)
	}
	if err != nil || !cacheableStatus(req, resp.StatusCode) {
		return resp, err
	}
	entry := &cachedResponse{status: resp.StatusCode, header: resp.Header.Clone(), expires: t.cache.now().Add(ttl)}
	if req.Method == http.MethodGet {
		if resp.ContentLength < 0 || resp.ContentLength > maxCachedBody {
			return resp, nil // a layer: streamed, not kept
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if int64(len(body)) != resp.ContentLength {
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return resp, nil
		}
		entry.body = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	t.cache.store(key, entry)
	return resp, nil
}

// isHTTPSPing is go-containerregistry's first question to a registry
// before every operation: whether it answers /v2/ over HTTPS.
func isHTTPSPing(req *http.Request) bool {
	return req.Method == http.MethodGet && req.URL.Scheme == "https" && req.URL.Path == "/v2/" && req.URL.RawQuery == ""
}

// plainHTTPAnswer is the error to give an HTTPS ping of a registry that
// answered one in plain HTTP less than plainHTTPTTL ago, or nil: then
// the ping is asked. go-containerregistry asks an insecure registry over
// HTTPS first before every operation, and each such ping is a TCP
// connection and a failed handshake in the way of every push, pull and
// attachment to an in-cluster registry. The same error is given again,
// so go-containerregistry goes on to plain HTTP, where it is allowed to,
// as it would have.
func (c *responseCache) plainHTTPAnswer(req *http.Request) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.plainHTTP[req.URL.Host]
	if !ok {
		return nil
	}
	if c.now().After(a.expires) {
		delete(c.plainHTTP, req.URL.Host)
		return nil
	}
	if req.Body != nil {
		req.Body.Close() // a RoundTripper closes the body, even on error
	}
	return a.err
}

// notePlainHTTP remembers an HTTPS ping that a plain-HTTP server
// answered (a TLS record that is not one); other failures (refused,
// timed out, a certificate not trusted) are asked again every time.
func (c *responseCache) notePlainHTTP(req *http.Request, err error) {
	var plain tls.RecordHeaderError
	if !errors.As(err, &plain) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plainHTTP[req.URL.Host] = plainHTTPAnswer{err: err, expires: c.now().Add(plainHTTPTTL)}
}

// notePlainHTTPAnswer forgets that a registry speaks plain HTTP when it
// refuses a plain-HTTP request (as a server that now speaks TLS does,
// with 400): the next operation asks over HTTPS again.
func (c *responseCache) notePlainHTTPAnswer(req *http.Request, resp *http.Response) {
	if req.URL.Scheme != "http" || resp.StatusCode != http.StatusBadRequest {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.plainHTTP[req.URL.Host]; ok {
		delete(c.plainHTTP, req.URL.Host)
		delete(c.entries, cacheKey(&http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: req.URL.Host, Path: "/v2/"}, Header: http.Header{}}))
	}
}

// referrersQuery is a request to the OCI referrers API.
var referrersQuery = regexp.MustCompile(`^/v2/.+/referrers/sha256:[a-f0-9]{64}$`)

// referrers asks the referrers API, unless the registry said in the
// last minute that it has none: go-containerregistry asks before every
// attachment it writes and every listing, and a registry without the
// API gets it no sooner than it is upgraded. A registry without it
// answers 404 without an OCI error, or with one that does not know the
// route; one with it may answer 404 for a repository or subject it does
// not hold (NAME_UNKNOWN, MANIFEST_UNKNOWN), which says nothing of the
// API and is not kept.
func (t reuse) referrers(req *http.Request) (*http.Response, error) {
	key := "referrers unsupported\x00" + req.URL.Scheme + "://" + req.URL.Host
	if _, ok := t.cache.answer(key, &http.Request{Method: http.MethodHead, Header: http.Header{}}); ok {
		return &http.Response{Status: http.StatusText(http.StatusNotFound), StatusCode: http.StatusNotFound, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Request: req, Body: http.NoBody}, nil
	}
	resp, err := t.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if !speaksOfTheRepository(body) {
		t.cache.store(key, &cachedResponse{status: http.StatusNotFound, header: http.Header{}, expires: t.cache.now().Add(pingTTL), headOnly: true})
	}
	return resp, nil
}

// speaksOfTheRepository says an error body is a registry's about the
// repository or manifest asked for (not held, or not allowed), not about
// the route.
func speaksOfTheRepository(body []byte) bool {
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	for _, x := range e.Errors {
		switch x.Code {
		case "NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_INVALID", "DENIED", "UNAUTHORIZED":
			return true
		}
	}
	return false
}

// uploadDone is the last request of a blob upload: PUT
// /v2/<name>/blobs/uploads/<id>?digest=sha256:...
var uploadDone = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/`)

// noteUpload records that a blob a request finished uploading (or
// mounted from another repository) now exists, so the next image that
// shares it does not ask. The entry answers HEAD only.
func (c *responseCache) noteUpload(req *http.Request, resp *http.Response) {
	if resp.StatusCode != http.StatusCreated {
		return
	}
	m := uploadDone.FindStringSubmatch(req.URL.Path)
	if m == nil {
		return
	}
	q := req.URL.Query()
	digest := q.Get("digest")
	if req.Method == http.MethodPost {
		digest = q.Get("mount")
	}
	if (req.Method != http.MethodPut && req.Method != http.MethodPost) || !strings.HasPrefix(digest, "sha256:") {
		return
	}
	blob := &http.Request{Method: http.MethodHead, URL: &url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: "/v2/" + m[1] + "/blobs/" + digest}, Header: req.Header}
	if !blobByDigest.MatchString(blob.URL.Path) {
		return
	}
	h := http.Header{}
	h.Set("Docker-Content-Digest", digest)
	c.store(cacheKey(blob), &cachedResponse{status: http.StatusOK, header: h, expires: c.now().Add(contentTTL), headOnly: true})
}

// cacheableStatus: a registry that exists (200) or asks for credentials
// (401, for the ping), never an error that may pass.
func cacheableStatus(req *http.Request, status int) bool {
	if req.URL.Path == "/v2/" {
		return status == http.StatusOK || status == http.StatusUnauthorized
	}
	return status == http.StatusOK
}

// answer is the cached response for key, if there is one that fits req:
// a HEAD is answered by a GET's entry, a GET only by a GET's.
func (c *responseCache) answer(key string, req *http.Request) (*http.Response, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || c.now().After(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	if req.Method == http.MethodGet && e.body == nil {
		return nil, false
	}
	if e.headOnly && req.Header.Get("Accept") != "" {
		return nil, false
	}
	resp := &http.Response{
		Status: http.StatusText(e.status), StatusCode: e.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: e.header.Clone(), Request: req, Body: http.NoBody, ContentLength: 0,
	}
	if cl := e.header.Get("Content-Length"); cl != "" && req.Method == http.MethodHead {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil {
			n = -1
		}
		resp.ContentLength = n
	}
	if req.Method == http.MethodGet {
		resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(e.body)), int64(len(e.body))
	}
	return resp, true
}

// claim makes the caller the one who asks for key, or returns what to
// wait for while another does.
func (c *responseCache) claim(key string) (<-chan struct{}, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.inFlight[key]; ok {
		return ch, false
	}
	c.inFlight[key] = make(chan struct{})
	return nil, true
}

func (c *responseCache) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.inFlight[key]; ok {
		close(ch)
		delete(c.inFlight, key)
	}
}

func (c *responseCache) store(key string, e *cachedResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil && old.body != nil && e.body == nil {
		return // a HEAD does not replace a GET's content
	}
	c.entries[key] = e
}

// forget drops, whoever asked, what was learned of the repository
// something is deleted from.
func (c *responseCache) forget(req *http.Request) {
	p := req.URL.Path
	for _, part := range []string{"/manifests/", "/blobs/"} {
		if i := strings.LastIndex(p, part); i >= 0 {
			p = p[:i+1]
			break
		}
	}
	prefix := req.URL.Scheme + "://" + req.URL.Host + p
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if strings.HasPrefix(k, prefix) {
			delete(c.entries, k)
		}
	}
}
