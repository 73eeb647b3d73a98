package registry

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BaseNow is what a base image reference points at now, compared with
// the digest a build recorded.
type BaseNow struct {
	// Digest is the reference's digest now: the image of platform when
	// the reference is an index and platform has one, else the index's
	// or the image's own.
	Digest string
	// Moved is true when the recorded digest is neither the reference's
	// digest now nor one of its index's images: an index that gained a
	// platform but kept the recorded image has not moved for this build.
	Moved bool
}

// BaseMoved resolves ref (as the cluster names it) and tells whether it
// still points at recorded. platform (os/arch[/variant], may be empty)
// picks the image of an index to report as the new digest.
func (c *Client) BaseMoved(ctx context.Context, ref, recorded, platform string) (BaseNow, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	r, err := c.Reference(ctx, ref)
	if err != nil {
		return BaseNow{}, err
	}
	desc, err := remote.Get(r, c.options(ctx)...)
	if err != nil {
		return BaseNow{}, c.classify(ctx, r.Context().Registry, err, "resolving "+r.String())
	}
	now := BaseNow{Digest: desc.Digest.String(), Moved: desc.Digest.String() != recorded}
	if !desc.MediaType.IsIndex() || !now.Moved {
		return now, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return BaseNow{}, fmt.Errorf("decoding index %s: %w", r, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return BaseNow{}, fmt.Errorf("decoding index %s: %w", r, err)
	}
	var want *v1.Platform
	if platform != "" {
		want, _ = v1.ParsePlatform(platform)
	}
	for _, d := range m.Manifests {
		if d.Digest.String() == recorded {
			return BaseNow{Digest: recorded}, nil
		}
		if want != nil && d.Platform != nil && d.Platform.Satisfies(*want) {
			now.Digest = d.Digest.String()
		}
	}
	return now, nil
}

// Configs reads the image configurations ref (as the cluster names it)
// points at: by platform (os/arch[/variant]) for an index, under "" for
// an image.
func (c *Client) Configs(ctx context.Context, ref string) (map[string]*v1.ConfigFile, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	r, err := c.Reference(ctx, ref)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, c.options(ctx)...)
	if err != nil {
		return nil, c.classify(ctx, r.Context().Registry, err, "resolving "+r.String())
	}
	out := map[string]*v1.ConfigFile{}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("decoding image %s: %w", r, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, classifyCodes(err, "reading the config of "+r.String())
		}
		out[""] = cfg
		return out, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("decoding index %s: %w", r, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("decoding index %s: %w", r, err)
	}
	for _, d := range m.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" || !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading the %s image of %s: %w", d.Platform, r, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, classifyCodes(err, "reading the config of "+r.String()+"@"+d.Digest.String())
		}
		out[d.Platform.String()] = cfg
	}
	return out, nil
}
