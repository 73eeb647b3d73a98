package registry

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushIndex pushes an OCI image index of images already in repository
// (platform as os/arch[/variant] to manifest digest) under every tag, and
// returns its digest. The index lists the platforms sorted, so the same
// images give the same index.
func (c *Client) PushIndex(ctx context.Context, repository string, images map[string]string, tags []string) (string, []string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	platforms := make([]string, 0, len(images))
	for p := range images {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		ref, err := c.reference(ctx, repository, "@"+images[p])
		if err != nil {
			return "", nil, err
		}
		desc, err := remote.Get(ref, c.options(ctx)...)
		if err != nil {
			return "", nil, c.classify(ctx, ref.Context().Registry, err, "reading the "+p+" image "+ref.String())
		}
		img, err := desc.Image()
		if err != nil {
			return "", nil, fmt.Errorf("reading the %s image %s: %w", p, ref, err)
		}
		platform, err := v1.ParsePlatform(p)
		if err != nil {
			return "", nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}})
	}
	d, err := idx.Digest()
	if err != nil {
		return "", nil, err
	}
	var pushed []string
	for i, tag := range tags {
		ref, err := c.reference(ctx, repository, ":"+tag)
		if err != nil {
			return d.String(), pushed, err
		}
		if i == 0 {
			err = remote.WriteIndex(ref, idx, c.options(ctx)...)
		} else {
			err = remote.Tag(ref.(name.Tag), idx, c.options(ctx)...)
		}
		if err != nil {
			return d.String(), pushed, c.classify(ctx, ref.Context().Registry, err, "pushing the index "+ref.String())
		}
		pushed = append(pushed, tag)
	}
	return d.String(), pushed, nil
}
