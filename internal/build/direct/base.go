package direct

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// resolveBase finds the base manifest for the build's target platform,
// as Kaniko's --custom-platform (or its node's platform) picks it.
// It returns the image, its digest, and the digest of the reference
// (the index's, for a multi-platform base). A build pinned by its plan
// reads the base the plan resolved, by digest, even if its tag moved.
func (e *Executor) resolveBase(ctx context.Context, reg *registry.Client, plan *Plan, p platforms, pin *build.Pin) (v1.Image, v1.Hash, v1.Hash, error) {
	ref := plan.Base
	if pin != nil && pin.BaseDigest != "" {
		r, err := name.ParseReference(plan.Base)
		if err != nil {
			return nil, v1.Hash{}, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
		}
		ref = r.Context().Name() + "@" + pin.BaseDigest
	}
	desc, err := baseDescriptor(ctx, reg, ref)
	if err != nil {
		return nil, v1.Hash{}, v1.Hash{}, err
	}
	img, digest, err := baseFor(desc, plan, p)
	return img, digest, desc.Digest, err
}

// baseFor is the image of desc for the build's platform.
func baseFor(desc *remote.Descriptor, plan *Plan, p platforms) (v1.Image, v1.Hash, error) {
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
		}
		return img, desc.Digest, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
	}
	children := imageChildren(manifest)
	var want *v1.Platform
	switch {
	case p.target != "":
		if want, err = v1.ParsePlatform(p.target); err != nil {
			return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonInvalidRequest, Message: "platform " + p.target, Err: err}
		}
	case len(children) == 1:
		want = children[0].Platform
	default:
		return nil, v1.Hash{}, platformFailure(p.unknown, fmt.Sprintf("the base image %s has several platforms (%s)", plan.Base, platformList(children)))
	}
	for _, m := range children {
		if m.Platform.Satisfies(*want) {
			img, err := idx.Image(m.Digest)
			if err != nil {
				return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
			}
			return img, m.Digest, nil
		}
	}
	return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage,
		Message: fmt.Sprintf("FROM %s has no image for platform %s (it has %s)", plan.Base, want, platformList(children))}
}

// baseDescriptor reads the base's manifest or index.
func baseDescriptor(ctx context.Context, reg *registry.Client, base string) (*remote.Descriptor, error) {
	ref, err := reg.Reference(ctx, base)
	if err != nil {
		return nil, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + base, Err: err}
	}
	desc, err := remote.Get(ref, reg.RemoteOptions(ctx)...)
	if err != nil {
		return nil, &build.Failure{Reason: build.ReasonBaseImage, Message: fmt.Sprintf("FROM %s (contacted as %s)", base, ref), Err: err}
	}
	return desc, nil
}

// imageChildren are an index's images with a platform; attestation
// manifests (platform unknown/unknown) are not images to build on.
func imageChildren(m *v1.IndexManifest) []v1.Descriptor {
	var out []v1.Descriptor
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS != "unknown" && d.Platform.Architecture != "unknown" {
			out = append(out, d)
		}
	}
	return out
}

func platformList(children []v1.Descriptor) string {
	names := make([]string, len(children))
	for i, c := range children {
		names[i] = c.Platform.String()
	}
	return strings.Join(names, ", ")
}

func layerMediaType(img v1.Image) types.MediaType {
	if mt, err := img.MediaType(); err == nil && mt == types.OCIManifestSchema1 {
		return types.OCILayer
	}
	return types.DockerLayer
}

// hasPlatform reports whether one of children is an image for want.
func hasPlatform(children []v1.Descriptor, want v1.Platform) bool {
	for _, c := range children {
		if c.Platform.Satisfies(want) {
			return true
		}
	}
	return false
}
