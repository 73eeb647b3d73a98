package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// Context is what a build reads: a local source, archived once into a
// snapshot before any executor sees it (TakeSnapshot, SnapshotContext),
// or a URL that Kaniko fetches inside the cluster. It carries the
// context's one identity, SHA256.
type Context struct {
	// Source is a local context; exactly one of Source and URL is set.
	Source *buildcontext.Source
	// URL is fetched by Kaniko itself (git://, s3://, gs://,
	// https://...tar.gz, dir://).
	URL string
	// CredentialsSecret names a Secret in the build namespace whose keys
	// Kaniko receives as environment variables (GIT_USERNAME,
	// GIT_PASSWORD, AWS_ACCESS_KEY_ID, ...), so that credentials to fetch
	// URL never appear in it.
	CredentialsSecret string
	// Dockerfile is the Dockerfile's path inside a URL context; a Source
	// knows its own.
	Dockerfile string

	// snapshot is Source archived once; TakeSnapshot sets it.
	snapshot *buildcontext.Snapshot
}

// Local reports whether the context is a local source.
func (c Context) Local() bool { return c.Source != nil }

// Snapshot is the archived local context, or nil before TakeSnapshot
// (and for a URL context). Executors read a local context only from it.
func (c Context) Snapshot() *buildcontext.Snapshot { return c.snapshot }

// WithSnapshot returns the context with snap as its snapshot, for
// callers that archived the source themselves (tests, the benchmark's
// side-by-side builds of one snapshot).
func (c Context) WithSnapshot(snap *buildcontext.Snapshot) Context {
	c.snapshot = snap
	return c
}

// SHA256 identifies the context: the hash of the snapshot's archive for
// a local context, a hash of the URL for a URL context; empty for a
// local context not archived yet.
func (c Context) SHA256() string {
	switch {
	case c.snapshot != nil:
		return c.snapshot.SHA256
	case c.URL != "":
		return URLHash(c.URL)
	}
	return ""
}

// URLHash stands in for the content of a context the provider cannot
// read: it changes exactly when the URL does.
func URLHash(url string) string {
	sum := sha256.Sum256([]byte("context_url\x00" + url))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// DockerfilePath is the Dockerfile's path inside the context.
func (c Context) DockerfilePath() string {
	if c.Source != nil {
		return c.Source.Dockerfile()
	}
	if c.Dockerfile == "" {
		return buildcontext.DefaultDockerfile
	}
	return c.Dockerfile
}

// ReadDockerfile returns the Dockerfile of a local context: from the
// snapshot once there is one, so a build reads the bytes it hashed, and
// from the source before (at plan time), without archiving the rest.
func (c Context) ReadDockerfile() ([]byte, error) {
	switch {
	case c.snapshot != nil:
		return c.snapshot.DockerfileContent()
	case c.Source != nil:
		return c.Source.DockerfileContent()
	}
	return nil, errors.New("a URL context is read by Kaniko inside the cluster")
}

func (c Context) validate() error {
	if (c.Source == nil) == (c.URL == "") {
		return errors.New("exactly one of a local context and a context URL is required")
	}
	return nil
}
