package testcluster

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// platformImage is one child of a multi-platform image.
type platformImage struct {
	Platform v1.Platform
	Image    v1.Image
}

// ociImage is assemble on scratch in OCI media types (manifest, config
// and layers), as the children of an OCI index are published. The
// layers' blobs are used as they are: only their descriptors' media type
// says OCI, so a layer shared with a Docker-typed image is the same blob.
func ociImage(layers []v1.Layer, cfg imageConfig) (v1.Image, error) {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: types.OCILayer})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	return configure(img, cfg)
}

// assembleIndex makes an OCI image index of children, each listed under
// its platform, in order. A child's config must name the same platform,
// since runtimes that read the config (not the index) check it.
func assembleIndex(children []platformImage) (v1.ImageIndex, error) {
	adds := make([]mutate.IndexAddendum, 0, len(children))
	for _, c := range children {
		cf, err := c.Image.ConfigFile()
		if err != nil {
			return nil, err
		}
		if got := cf.Platform(); got == nil || !got.Equals(c.Platform) {
			return nil, fmt.Errorf("image for %s has a config for %v", c.Platform, got)
		}
		p := c.Platform
		adds = append(adds, mutate.IndexAddendum{Add: c.Image, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...), nil
}

// describeIndex lists the children of idx with their compressed sizes
// (config and layers, what a pull of that platform fetches besides the
// manifests): "linux/amd64 41.5 MB, linux/arm64/v8 40.1 MB".
func describeIndex(idx v1.ImageIndex) (string, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	var parts []string
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return "", err
		}
		m, err := img.Manifest()
		if err != nil {
			return "", err
		}
		size := m.Config.Size
		for _, l := range m.Layers {
			size += l.Size
		}
		platform := "unknown platform"
		if d.Platform != nil {
			platform = d.Platform.String()
		}
		parts = append(parts, fmt.Sprintf("%s %.1f MB", platform, float64(size)/1e6))
	}
	return strings.Join(parts, ", "), nil
}
