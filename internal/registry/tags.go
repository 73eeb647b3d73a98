package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// resolveConcurrency bounds the tag lookups of one repository in
// flight: enough to hide round trips, few enough for a small registry.
const resolveConcurrency = 4

// ListTags lists the repository's tags.
func (c *Client) ListTags(ctx context.Context, repository string) ([]string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, ":latest")
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(ref.Context(), c.options(ctx)...)
	if err != nil {
		return nil, c.classify(ctx, ref.Context().Registry, err, "listing tags of "+ref.Context().String())
	}
	return tags, nil
}

// resolveTags returns the descriptor (digest and media type) of what
// each of tags points at, asking a few at a time over one authenticated
// connection. Tags gone by the time they are asked for are left out.
func (c *Client) resolveTags(ctx context.Context, repository string, tags []string) (map[string]v1.Descriptor, error) {
	digests := map[string]v1.Descriptor{}
	if len(tags) == 0 {
		return digests, nil
	}
	refs := make([]name.Reference, len(tags))
	for i, tag := range tags {
		ref, err := c.reference(ctx, repository, ":"+tag)
		if err != nil {
			return nil, err
		}
		refs[i] = ref
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	puller, err := remote.NewPuller(c.options(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("resolving the tags of %s: %w", repository, err)
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, resolveConcurrency)
	)
	for i, ref := range refs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			tctx, tcancel := c.withTimeout(ctx)
			defer tcancel()
			desc, err := puller.Head(tctx, ref)
			if err != nil {
				err = c.classify(tctx, ref.Context().Registry, err, "resolving tag "+ref.String())
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				digests[tags[i]] = *desc
			case errors.Is(err, ErrNotFound):
			case firstErr == nil:
				firstErr = err
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return digests, nil
}

// snapshot lists the repository's tags and resolves each: tag to digest.
func (c *Client) snapshot(ctx context.Context, repository string) (map[string]string, error) {
	descs, err := c.describeTags(ctx, repository)
	if err != nil {
		return nil, err
	}
	snap := make(map[string]string, len(descs))
	for tag, d := range descs {
		snap[tag] = d.Digest.String()
	}
	return snap, nil
}

// TagsPointingAt returns, sorted, every tag of the repository that
// resolves to digest. A repository the registry does not know is
// ErrNotFound.
func (c *Client) TagsPointingAt(ctx context.Context, repository, digest string) ([]string, error) {
	snap, err := c.snapshot(ctx, repository)
	if err != nil {
		return nil, err
	}
	var tags []string
	for tag, d := range snap {
		if d == digest {
			tags = append(tags, tag)
		}
	}
	sort.Strings(tags)
	return tags, nil
}

// Untag removes repository:tag and keeps the manifest it points at. A
// tag already gone is not an error. Where the registry does not delete
// tags the error wraps ErrTagDeleteUnsupported: it answers 400 or 405
// (as the OCI distribution spec lets a registry with tag deletion
// disabled do; distribution before v3 always did), or it deleted the
// manifest along with the tag, as some registries did before the spec
// said otherwise; after that, the client deletes no more tags there.
func (c *Client) Untag(ctx context.Context, repository, tag string) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, ":"+tag)
	if err != nil {
		return err
	}
	reg := ref.Context().RegistryStr()
	if c.deletesManifestWithTag(reg) {
		return fmt.Errorf("removing tag %s: %w: deleting a tag there deleted its manifest before", ref, ErrTagDeleteUnsupported)
	}
	desc, err := remote.Head(ref, c.options(ctx)...)
	if err != nil {
		err = c.classify(ctx, ref.Context().Registry, err, "resolving tag "+ref.String())
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	manifest := ref.Context().Digest(desc.Digest.String())
	dangling := false
	if _, err := remote.Head(manifest, c.options(ctx)...); err != nil {
		err = c.classify(ctx, manifest.Context().Registry, err, "checking "+manifest.String())
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		// A tag left behind by its deleted manifest, as some registries
		// keep them: deleting it proves nothing about the registry.
		dangling = true
	}
	if err := remote.Delete(ref, c.options(ctx)...); err != nil {
		if tagDeleteRefused(err) {
			return fmt.Errorf("removing tag %s: %w: %v", ref, ErrTagDeleteUnsupported, err)
		}
		err = c.classify(ctx, ref.Context().Registry, err, "removing tag "+ref.String())
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	if dangling {
		return nil
	}
	if _, err := remote.Head(manifest, c.options(ctx)...); err != nil {
		if err = c.classify(ctx, manifest.Context().Registry, err, "checking "+manifest.String()); errors.Is(err, ErrNotFound) {
			s := c.state()
			s.mu.Lock()
			s.manifestWithTag[reg] = true
			s.mu.Unlock()
			return fmt.Errorf("removing tag %s: %w: the registry deleted the manifest %s with it", ref, ErrTagDeleteUnsupported, desc.Digest)
		}
	}
	return nil
}

// deletesManifestWithTag reports whether deleting a tag at the registry
// address deleted its manifest before.
func (c *Client) deletesManifestWithTag(reg string) bool {
	s := c.state()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.manifestWithTag[reg]
}

// tagDeleteRefused tells a registry that does not delete tags.
func tagDeleteRefused(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusBadRequest || terr.StatusCode == http.StatusMethodNotAllowed {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.UnsupportedErrorCode {
			return true
		}
	}
	return false
}
