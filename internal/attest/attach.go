package attest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// Registry is what attaching needs of the registry client
// (*registry.Client).
type Registry interface {
	Manifest(ctx context.Context, repository, digest string) (*remote.Descriptor, error)
	Attach(ctx context.Context, repository, subject string, a registry.Artifact) (string, error)
	Referrers(ctx context.Context, repository, digest string) ([]registry.Referrer, error)
	Fetch(ctx context.Context, repository, digest string) (registry.Artifact, error)
	Exists(ctx context.Context, repository, digest string) (bool, error)
}

// Request says what to attach to which image.
type Request struct {
	// SBOMFormat is FormatSPDX or FormatCycloneDX; empty attaches none.
	SBOMFormat string
	// ProvenanceMode is ProvenanceMin or ProvenanceMax; empty attaches
	// none.
	ProvenanceMode string
	// Provenance holds what the statement says of the build; Attach fills
	// in the image, the mode, the platforms' digests and the base.
	Provenance ProvenanceInput
	// Repository and Digest name the image (an index, with
	// PlatformDigests naming its images).
	Repository      string
	Digest          string
	PlatformDigests map[string]string
	// BaseRef is the final stage's FROM as the build resolved it, and
	// BaseDigest the digest it resolved to (of an index, for several
	// platforms); empty when unknown.
	BaseRef    string
	BaseDigest string
	// Tool is the provider's name and version.
	Tool string
	// Cache keeps the package databases read from layers; nil reads them
	// every time.
	Cache *DatabaseCache
	// LocalLayers, when set, opens the image's layers that are on this
	// machine (a direct build's), so that the SBOM reads them there.
	LocalLayers LocalLayers
	// Prepared, when set, is called with each attachment's manifest
	// digest as soon as it is known, before the attachment is pushed, so
	// that the caller can sign it meanwhile; calls come from several
	// goroutines.
	Prepared func(digest string)
}

// Kinds of attachments, as registry.Attachment records them.
const (
	KindSBOM       = "sbom"
	KindProvenance = "provenance"
)

// Attached names the attachments' manifests.
type Attached struct {
	SBOM       string
	Provenance string
	// Platforms are each platform image's own attachments, for an index.
	Platforms map[string]Attached
	// All lists every attachment made, with its subject, for deleting
	// them with the image.
	All []registry.Attachment
}

// Attach writes the requested documents and attaches them to the image
// and, for an index, to each of its images.
func Attach(ctx context.Context, reg Registry, req Request) (Attached, error) {
	var out Attached
	desc, err := reg.Manifest(ctx, req.Repository, req.Digest)
	if err != nil {
		return out, err
	}
	images, err := platformImages(desc, req.PlatformDigests)
	if err != nil {
		return out, err
	}
	created, err := createdOf(images)
	if err != nil {
		return out, err
	}
	image := Image{Repository: req.Repository, Digest: req.Digest, Created: created}
	// The two documents are independent: written and attached side by
	// side (most of the time is the registry's round trips).
	var sbomOut, provOut Attached
	var sbomErr, provErr error
	var wg sync.WaitGroup
	if req.SBOMFormat != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sbomOut, sbomErr = attachSBOM(ctx, reg, req, subjectOf(desc.Descriptor), image, images)
		}()
	}
	if req.ProvenanceMode != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			provOut, provErr = attachProvenance(ctx, reg, req, subjectOf(desc.Descriptor), image, images)
		}()
	}
	wg.Wait()
	out.SBOM, out.Provenance = sbomOut.SBOM, provOut.Provenance
	out.All = append(append(out.All, sbomOut.All...), provOut.All...)
	for p, a := range sbomOut.Platforms {
		out.set(p, func(o *Attached) { o.SBOM = a.SBOM })
	}
	for p, a := range provOut.Platforms {
		out.set(p, func(o *Attached) { o.Provenance = a.Provenance })
	}
	if sbomErr != nil {
		return out, sbomErr
	}
	return out, provErr
}

// attachSBOM writes the SBOM of every image and attaches it to the image
// (an index gets one of all its platforms, each platform image its own).
func attachSBOM(ctx context.Context, reg Registry, req Request, subject v1.Descriptor, image Image, images []platformImage) (Attached, error) {
	var out Attached
	mediaType := MediaTypeSPDX
	if req.SBOMFormat == FormatCycloneDX {
		mediaType = MediaTypeCycloneDX
	}
	base := baseOf(req)
	// The base's own SBOM is a few registry round trips that the image's
	// contents do not wait for.
	var baseDoc *Document
	var found sync.WaitGroup
	if base != nil {
		found.Add(1)
		go func() {
			defer found.Done()
			baseDoc = baseSBOM(ctx, reg, repositoryOf(req.BaseRef), req.BaseDigest, mediaType)
		}()
	}
	var all []Contents
	for _, pi := range images {
		c, err := contentsOf(ctx, reg, pi, req)
		if err != nil {
			found.Wait()
			return out, err
		}
		all = append(all, c)
	}
	found.Wait()
	if base != nil {
		base.SBOM = baseDoc
	}
	raw, mt, err := SBOM(req.SBOMFormat, SBOMInput{Image: image, Base: base, Platforms: all, Tool: req.Tool})
	if err != nil {
		return out, err
	}
	if out.SBOM, err = attachTo(ctx, reg, req, subject, registry.Artifact{ArtifactType: mt, Content: raw}); err != nil {
		return out, fmt.Errorf("attaching the SBOM: %w", err)
	}
	out.All = append(out.All, registry.Attachment{Subject: req.Digest, Digest: out.SBOM, Kind: KindSBOM})
	if len(images) > 1 {
		for i, pi := range images {
			raw, mt, err := SBOM(req.SBOMFormat, SBOMInput{Image: Image{Repository: req.Repository, Digest: pi.digest, Created: image.Created}, Base: base, Platforms: all[i : i+1], Tool: req.Tool})
			if err != nil {
				return out, err
			}
			d, err := attachTo(ctx, reg, req, pi.desc, registry.Artifact{ArtifactType: mt, Content: raw})
			if err != nil {
				return out, fmt.Errorf("attaching the SBOM of %s: %w", pi.platform, err)
			}
			out.set(pi.platform, func(a *Attached) { a.SBOM = d })
			out.All = append(out.All, registry.Attachment{Subject: pi.digest, Digest: d, Kind: KindSBOM})
		}
	}
	return out, nil
}

// attachProvenance writes the statement and attaches it to the image
// and, for an index, to each platform image.
func attachProvenance(ctx context.Context, reg Registry, req Request, subject v1.Descriptor, image Image, images []platformImage) (Attached, error) {
	var out Attached
	in := req.Provenance
	in.Mode, in.Image, in.PlatformDigests, in.Base = req.ProvenanceMode, image, req.PlatformDigests, baseOf(req)
	raw, err := Provenance(in)
	if err != nil {
		return out, err
	}
	art := registry.Artifact{ArtifactType: MediaTypeInToto, Content: raw, Annotations: map[string]string{AnnotationPredicateType: PredicateSLSAProvenance}}
	if out.Provenance, err = attachTo(ctx, reg, req, subject, art); err != nil {
		return out, fmt.Errorf("attaching the provenance: %w", err)
	}
	out.All = append(out.All, registry.Attachment{Subject: req.Digest, Digest: out.Provenance, Kind: KindProvenance})
	if len(images) > 1 {
		for _, pi := range images {
			d, err := attachTo(ctx, reg, req, pi.desc, art)
			if err != nil {
				return out, fmt.Errorf("attaching the provenance of %s: %w", pi.platform, err)
			}
			out.set(pi.platform, func(a *Attached) { a.Provenance = d })
			out.All = append(out.All, registry.Attachment{Subject: pi.digest, Digest: d, Kind: KindProvenance})
		}
	}
	return out, nil
}

func (a *Attached) set(platform string, f func(*Attached)) {
	if a.Platforms == nil {
		a.Platforms = map[string]Attached{}
	}
	v := a.Platforms[platform]
	f(&v)
	a.Platforms[platform] = v
}

// platformImage is one image of what was built.
type platformImage struct {
	platform string
	digest   string
	img      v1.Image
	// desc is the image's manifest's descriptor, the subject of its
	// attachments.
	desc v1.Descriptor
}

// platformImages are the image, or each image of the index, sorted by
// platform.
func platformImages(desc *remote.Descriptor, digests map[string]string) ([]platformImage, error) {
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("reading image %s: %w", desc.Digest, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading the config of %s: %w", desc.Digest, err)
		}
		platform := ""
		if p := cfg.Platform(); p != nil {
			platform = p.String()
		}
		return []platformImage{{platform: platform, digest: desc.Digest.String(), img: img, desc: subjectOf(desc.Descriptor)}}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	var out []platformImage
	for _, m := range im.Manifests {
		if m.Platform == nil || m.MediaType.IsIndex() {
			continue
		}
		p := m.Platform.String()
		if want, ok := digests[p]; len(digests) > 0 && (!ok || want != m.Digest.String()) {
			continue
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading image %s of index %s: %w", m.Digest, desc.Digest, err)
		}
		out = append(out, platformImage{platform: p, digest: m.Digest.String(), img: img, desc: subjectOf(m)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].platform < out[j].platform })
	if len(out) == 0 {
		return nil, fmt.Errorf("index %s holds no image of the built platforms", desc.Digest)
	}
	return out, nil
}

// subjectOf is what an attachment's manifest says of its subject.
func subjectOf(d v1.Descriptor) v1.Descriptor {
	return v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// attachTo pushes art as an attachment of subject, telling
// req.Prepared its digest first.
func attachTo(ctx context.Context, reg Registry, req Request, subject v1.Descriptor, art registry.Artifact) (string, error) {
	art.SubjectDescriptor = &subject
	want, err := registry.ArtifactDigest(subject, art)
	if err != nil {
		return "", err
	}
	if req.Prepared != nil {
		req.Prepared(want)
	}
	got, err := reg.Attach(ctx, req.Repository, subject.Digest.String(), art)
	if err == nil && got != want {
		err = fmt.Errorf("the registry client attached %s as %s, not as %s", subject.Digest, got, want)
	}
	return got, err
}

// createdOf is the first image's creation time, the documents' only time.
func createdOf(images []platformImage) (t time.Time, err error) {
	cfg, err := images[0].img.ConfigFile()
	if err != nil {
		return t, fmt.Errorf("reading the image config: %w", err)
	}
	return cfg.Created.Time, nil
}

// baseOf describes the base, or nil when the build did not record one.
func baseOf(req Request) *Base {
	if req.BaseRef == "" || req.BaseDigest == "" {
		return nil
	}
	return &Base{Ref: req.BaseRef, Digest: req.BaseDigest}
}

// baseSBOM finds the base's own SBOM of the same format, when one is
// attached to it and this machine can read it.
func baseSBOM(ctx context.Context, reg Registry, repository, digest, mediaType string) *Document {
	refs, err := reg.Referrers(ctx, repository, digest)
	if err != nil {
		return nil
	}
	for _, r := range refs {
		if r.ArtifactType != mediaType {
			continue
		}
		a, err := reg.Fetch(ctx, repository, r.Digest)
		if err != nil {
			continue
		}
		var head struct {
			Namespace    string `json:"documentNamespace"`
			SerialNumber string `json:"serialNumber"`
		}
		if json.Unmarshal(a.Content, &head) != nil {
			continue
		}
		ns := head.Namespace
		if ns == "" {
			ns = head.SerialNumber
		}
		if ns == "" {
			continue
		}
		sum := sha1.Sum(a.Content)
		return &Document{Namespace: ns, SHA1: hex.EncodeToString(sum[:])}
	}
	return nil
}

// contentsOf reads what one image holds: the files above its base's
// layers and the packages of its package databases. When the image does
// not start with the base's layers (Kaniko --reproducible rewrites
// them), the files are those that differ from the base's; without a
// readable base every file is listed, and the SBOM says so.
func contentsOf(ctx context.Context, reg Registry, pi platformImage, req Request) (Contents, error) {
	layers, err := pi.img.Layers()
	if err != nil {
		return Contents{Platform: pi.platform}, fmt.Errorf("reading the layers of %s: %w", pi.digest, err)
	}
	if req.LocalLayers != nil {
		// The tars kept on this machine, else the compressed blobs; a
		// copy that is not what was pushed gives way to the next, and
		// last to the registry's.
		for _, tars := range []bool{true, false} {
			c, err := layerContents(ctx, reg, pi, req, localFirst(layers, req.LocalLayers, tars))
			if err == nil {
				return c, nil
			}
		}
	}
	return layerContents(ctx, reg, pi, req, layers)
}

// layerContents is contentsOf with the image's layers read from layers.
func layerContents(ctx context.Context, reg Registry, pi platformImage, req Request, layers []v1.Layer) (c Contents, err error) {
	c = Contents{Platform: pi.platform}
	var base v1.Image
	baseLayers := 0
	if req.BaseRef != "" && req.BaseDigest != "" {
		if base, err = platformBase(ctx, reg, repositoryOf(req.BaseRef), req.BaseDigest, pi.platform); err == nil {
			baseLayers, err = sharedLayers(base, layers)
		}
		if err != nil {
			base = nil
		}
	}
	switch {
	case base == nil:
		c.BaseUnknown = true
		c.Files, err = AddedFiles(layers, 0, req.Cache)
	case baseLayers == 0:
		c.Files, err = filesNotIn(base, layers, req.Cache)
	default:
		c.Files, err = AddedFiles(layers, baseLayers, req.Cache)
	}
	if err != nil {
		return c, err
	}
	if c.Packages, err = Packages(layers, req.Cache); err != nil {
		return c, err
	}
	return c, nil
}

// filesNotIn lists the image's files that the base does not hold as
// they are (same path, same content or link target).
func filesNotIn(base v1.Image, layers []v1.Layer, cache *DatabaseCache) ([]File, error) {
	baseLayers, err := base.Layers()
	if err != nil {
		return nil, err
	}
	had, err := AddedFiles(baseLayers, 0, nil)
	if err != nil {
		return nil, err
	}
	inBase := map[string]File{}
	for _, f := range had {
		inBase[f.Path] = f
	}
	all, err := AddedFiles(layers, 0, cache)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, f := range all {
		if b, ok := inBase[f.Path]; ok && b.SHA256 == f.SHA256 && b.LinkTarget == f.LinkTarget && b.Mode == f.Mode {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// platformBase is the base's image for a platform (the base itself, or
// its index's image for the platform).
func platformBase(ctx context.Context, reg Registry, repository, digest, platform string) (v1.Image, error) {
	desc, err := reg.Manifest(ctx, repository, digest)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return desc.Image()
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.String() == platform {
			return idx.Image(m.Digest)
		}
	}
	return nil, fmt.Errorf("base %s has no image for %s", digest, platform)
}

// sharedLayers counts the layers an image starts with that are its
// base's.
func sharedLayers(base v1.Image, layers []v1.Layer) (int, error) {
	m, err := base.Manifest()
	if err != nil {
		return 0, err
	}
	n := 0
	for n < len(m.Layers) && n < len(layers) {
		d, err := layers[n].Digest()
		if err != nil || d != m.Layers[n].Digest {
			break
		}
		n++
	}
	return n, nil
}
