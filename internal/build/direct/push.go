package direct

import (
	"context"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// push writes the image under its first tag, which uploads only what the
// registry lacks (base layers from the same registry are mounted, from
// another one streamed once), then points the other tags at it. It
// returns the tags pushed even when a later one failed, so that what is
// in the registry is tracked.
func (e *Executor) push(ctx context.Context, reg *registry.Client, img v1.Image, spec build.Spec) (pushed []string, err error) {
	opts := reg.RemoteOptions(ctx)
	for i, tag := range spec.Tags {
		ref, err := reg.Reference(ctx, spec.Repository+":"+tag)
		if err != nil {
			return pushed, &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
		}
		if i == 0 {
			err = remote.Write(ref, img, opts...)
		} else {
			err = remote.Tag(ref.(name.Tag), img, opts...)
		}
		if err != nil {
			return pushed, &build.Failure{Reason: build.ReasonRegistry, Message: "pushing " + ref.String(), Err: err}
		}
		pushed = append(pushed, tag)
	}
	return pushed, nil
}

// indexOf is the OCI image index of a multi-platform build's images, in
// the order of the build's platforms (sorted), so the same images give
// the same index digest; res gets each platform's digest and size.
func indexOf(images []platformImage, res *build.Result) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	res.PlatformDigests, res.PlatformSizes = map[string]string{}, map[string]int64{}
	for _, pi := range images {
		d, err := pi.img.Digest()
		if err != nil {
			return nil, &build.Failure{Reason: build.ReasonDockerfile, Message: "computing the " + pi.platform + " image's digest", Err: err}
		}
		platform, err := v1.ParsePlatform(pi.platform)
		if err != nil {
			return nil, &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: pi.img, Descriptor: v1.Descriptor{Platform: platform}})
		res.PlatformDigests[pi.platform] = d.String()
		res.PlatformSizes[pi.platform] = imageSize(pi.img)
		res.ImageSize += res.PlatformSizes[pi.platform]
	}
	return idx, nil
}

// pushIndex pushes the platforms' images by digest, side by side (only
// what the registry lacks: identical layers are uploaded once), then the
// index under every tag.
func (e *Executor) pushIndex(ctx context.Context, ready *prepared, spec build.Spec) (pushed []string, err error) {
	reg := ready.reg
	opts := reg.RemoteOptions(ctx)
	// Every distinct layer once, side by side, then the images, whose
	// layers are then all there: a layer two platforms share is
	// uploaded once.
	if err := pushLayers(ctx, reg, opts, spec.Repository, ready.images); err != nil {
		return nil, err
	}
	if err := inParallel(len(ready.images), func(i int) error {
		return pushByDigest(ctx, reg, opts, spec.Repository, ready.images[i])
	}); err != nil {
		return nil, err
	}
	for i, tag := range spec.Tags {
		ref, err := reg.Reference(ctx, spec.Repository+":"+tag)
		if err != nil {
			return pushed, &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
		}
		if i == 0 {
			err = remote.WriteIndex(ref, ready.index, opts...)
		} else {
			err = remote.Tag(ref.(name.Tag), ready.index, opts...)
		}
		if err != nil {
			return pushed, &build.Failure{Reason: build.ReasonRegistry, Message: "pushing " + ref.String(), Err: err}
		}
		pushed = append(pushed, tag)
	}
	return pushed, nil
}

// pushByDigest pushes one platform's image under its digest only.
func pushByDigest(ctx context.Context, reg *registry.Client, opts []remote.Option, repository string, pi platformImage) error {
	d, err := pi.img.Digest()
	if err != nil {
		return &build.Failure{Reason: build.ReasonRegistry, Err: err}
	}
	ref, err := reg.Reference(ctx, repository+"@"+d.String())
	if err != nil {
		return &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
	}
	if err := remote.Write(ref, pi.img, opts...); err != nil {
		return &build.Failure{Reason: build.ReasonRegistry, Message: "pushing the " + pi.platform + " image " + ref.String(), Err: err}
	}
	return nil
}

// pushLayers uploads each distinct layer of the images once (or mounts
// it, or finds it there).
func pushLayers(ctx context.Context, reg *registry.Client, opts []remote.Option, repository string, images []platformImage) error {
	ref, err := reg.Reference(ctx, repository+":layers")
	if err != nil {
		return &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
	}
	seen := map[v1.Hash]bool{}
	var layers []v1.Layer
	for _, pi := range images {
		ls, err := pi.img.Layers()
		if err != nil {
			return &build.Failure{Reason: build.ReasonDockerfile, Message: "reading the " + pi.platform + " image's layers", Err: err}
		}
		for _, l := range ls {
			d, err := l.Digest()
			if err != nil {
				return &build.Failure{Reason: build.ReasonDockerfile, Message: "reading the " + pi.platform + " image's layers", Err: err}
			}
			if !seen[d] {
				seen[d] = true
				layers = append(layers, l)
			}
		}
	}
	return inParallel(len(layers), func(i int) error {
		if err := remote.WriteLayer(ref.Context(), layers[i], opts...); err != nil {
			d, _ := layers[i].Digest()
			return &build.Failure{Reason: build.ReasonRegistry, Message: "pushing the layer " + d.String(), Err: err}
		}
		return nil
	})
}

// maxParallel bounds what one build runs at once: its platforms'
// images, its uploads.
const maxParallel = 4

// inParallel runs fn for 0..n-1, at most maxParallel at a time,
// and returns the first error in index order.
func inParallel(n int, fn func(i int) error) error {
	errs := make([]error, n)
	slots := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
