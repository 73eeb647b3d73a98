package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A manifest is in use while a tag points at it, or at an image index
// that lists it (a multi-platform image's platform images are untagged
// children of its index). Deletes and retention therefore look at the
// repository as its tags reach it: repoView.

// repoView is what the tags of a repository reach.
type repoView struct {
	// tags maps each tag to the digest it points at.
	tags map[string]string
	// lists maps each manifest the tags reach, directly or through
	// indexes, that has been read to the manifests it lists: nil for an
	// image, the platform images (or nested indexes) for an index.
	lists map[string][]string
}

// view reads the repository's tags and, for every index they reach at
// any depth, the manifests it lists. lists carries what an earlier view
// of the same repository read (an index's list is its digest's content,
// so it never changes) and is filled in; nil starts afresh. A repository
// the registry does not know is ErrNotFound.
func (c *Client) view(ctx context.Context, repository string, lists map[string][]string) (repoView, error) {
	descs, err := c.describeTags(ctx, repository)
	if err != nil {
		return repoView{}, err
	}
	if lists == nil {
		lists = map[string][]string{}
	}
	v := repoView{tags: make(map[string]string, len(descs)), lists: lists}
	pending := make([]v1.Descriptor, 0, len(descs))
	for tag, d := range descs {
		v.tags[tag] = d.Digest.String()
		pending = append(pending, d)
	}
	for len(pending) > 0 {
		d := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		digest := d.Digest.String()
		if _, read := v.lists[digest]; read {
			continue
		}
		if d.MediaType != "" && !d.MediaType.IsIndex() {
			v.lists[digest] = nil
			continue
		}
		children, err := c.listedBy(ctx, repository, digest)
		if err != nil {
			return repoView{}, err
		}
		v.lists[digest] = nil
		for _, child := range children {
			v.lists[digest] = append(v.lists[digest], child.Digest.String())
			pending = append(pending, child)
		}
	}
	return v, nil
}

// listedBy returns the manifests the index repository@digest lists;
// none for an image, or for a manifest already gone (a tag some
// registries keep after its manifest is deleted).
func (c *Client) listedBy(ctx context.Context, repository, digest string) ([]v1.Descriptor, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, c.options(ctx)...)
	if err != nil {
		err = c.classify(ctx, ref.Context().Registry, err, "reading manifest "+ref.String())
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return nil, nil
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("decoding index %s: %w", ref, err)
	}
	return m.Manifests, nil
}

// reachable returns the manifests the roots reach: each root, and what
// the indexes among them list, at any depth.
func (v repoView) reachable(roots ...string) map[string]bool {
	seen := map[string]bool{}
	for len(roots) > 0 {
		d := roots[len(roots)-1]
		roots = roots[:len(roots)-1]
		if seen[d] {
			continue
		}
		seen[d] = true
		roots = append(roots, v.lists[d]...)
	}
	return seen
}

// uses says which of tags use digest: those that point at it (direct),
// and those that point at an index that lists it, at any depth
// (through), each sorted.
func (v repoView) uses(digest string, tags []string) (direct, through []string) {
	for _, t := range tags {
		switch d := v.tags[t]; {
		case d == digest:
			direct = append(direct, t)
		case v.reachable(d)[digest]:
			through = append(through, t)
		}
	}
	sort.Strings(direct)
	sort.Strings(through)
	return direct, through
}
