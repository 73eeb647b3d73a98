package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is a document attached to an image as an OCI referrer: an
// image manifest whose config is the empty JSON object, the document as
// its one layer, and the image as its subject. Both the manifest's
// artifactType and its config's media type name the document's type:
// registries list referrers by one or the other (image-spec 1.1 and
// its drafts), and either then shows the right type.
type Artifact struct {
	// ArtifactType is the manifest's artifactType and the document's
	// media type, such as application/spdx+json.
	ArtifactType string
	Content      []byte
	// Annotations go on the manifest, where the referrers list shows
	// them.
	Annotations map[string]string
	// Subject is the digest of the manifest it is attached to, as Fetch
	// read it.
	Subject string
	// SubjectDescriptor, when set, describes the subject to Attach, which
	// then does not read it from the registry: a caller that has it
	// saves a round trip.
	SubjectDescriptor *v1.Descriptor
}

// Referrer is one manifest that names an image as its subject.
type Referrer struct {
	Digest       string
	ArtifactType string
	Annotations  map[string]string
}

// emptyConfig is the OCI empty descriptor's content, the config of
// artifacts that have none.
var emptyConfig = []byte("{}")

// subjectLocks serialise, per registry, repository and subject, the
// attachments of one process: on a registry without the referrers API
// an attachment rewrites the subject's fallback tag (an index of its
// referrers) by reading and writing it, and two at once would lose one.
var subjectLocks sync.Map

func lockSubject(key string) func() {
	m, _ := subjectLocks.LoadOrStore(key, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// artifactManifest is the manifest of an attachment. Its bytes depend
// only on the document, its type and annotations, and the subject, so
// attaching the same document again gives the same digest.
type artifactManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// Attach attaches a document to repository@subject and returns the
// attachment's manifest digest (ArtifactDigest's). On a registry with
// the referrers API the registry lists it; on one without, the
// subject's fallback tag (sha256-<hex>) is updated, one attachment at a
// time per subject in this process. The subject's own manifest is
// untouched.
func (c *Client) Attach(ctx context.Context, repository, subject string, a Artifact) (string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, "@"+subject)
	if err != nil {
		return "", err
	}
	opts := c.options(ctx)
	sub := a.SubjectDescriptor
	if sub == nil {
		head, err := remote.Head(ref, opts...)
		if err != nil {
			return "", c.classify(ctx, ref.Context().Registry, err, "reading manifest "+ref.String())
		}
		sub = head
	}
	if sub.Digest.String() != subject {
		return "", fmt.Errorf("attaching to %s: the subject's descriptor names %s", ref, sub.Digest)
	}
	raw, digest, err := artifactManifestOf(*sub, a)
	if err != nil {
		return "", err
	}
	// The empty config is there after the first attachment (and this
	// client remembers it); the document, new, is uploaded in two
	// requests, or go-containerregistry's way, with its retries, when
	// that fails.
	if err := remote.WriteLayer(ref.Context(), static.NewLayer(emptyConfig, types.MediaType(a.ArtifactType)), opts...); err != nil {
		return "", classifyCodes(err, "uploading an attachment to "+ref.Context().String())
	}
	if err := c.UploadBlobs(ctx, ref.Context(), a.Content); err != nil {
		return "", fmt.Errorf("attaching to %s: %w", ref, err)
	}
	unlock := lockSubject(ref.Context().String() + "@" + subject)
	defer unlock()
	if err := remote.Put(ref.Context().Digest(digest), rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}, opts...); err != nil {
		return "", classifyCodes(err, "attaching to "+ref.String())
	}
	return digest, nil
}

// ArtifactDigest is the digest of the manifest Attach writes for a
// attached to the manifest subject describes: known before anything is
// pushed, so that signing it can start while it is written.
func ArtifactDigest(subject v1.Descriptor, a Artifact) (string, error) {
	_, digest, err := artifactManifestOf(subject, a)
	return digest, err
}

// artifactManifestOf is the attachment's manifest and its digest. Only
// the subject's media type, digest and size go into it.
func artifactManifestOf(subject v1.Descriptor, a Artifact) ([]byte, string, error) {
	cfgDesc, err := descriptorOf(static.NewLayer(emptyConfig, types.MediaType(a.ArtifactType)))
	if err != nil {
		return nil, "", err
	}
	cfgDesc.Data = emptyConfig
	docDesc, err := descriptorOf(static.NewLayer(a.Content, types.MediaType(a.ArtifactType)))
	if err != nil {
		return nil, "", err
	}
	m := artifactManifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: a.ArtifactType,
		Config: cfgDesc, Layers: []v1.Descriptor{docDesc},
		Subject:     &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: a.Annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, "", err
	}
	digest, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, "", err
	}
	return raw, digest.String(), nil
}

func descriptorOf(l v1.Layer) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, nil
}

// Referrers lists the manifests that name repository@digest as their
// subject: from the registry's referrers API, or from the fallback tag
// on a registry without it. The list may name manifests deleted since
// (a fallback index is not updated by deletes); Exists tells.
func (c *Client) Referrers(ctx context.Context, repository, digest string) ([]Referrer, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(ref.Context().Digest(digest), c.options(ctx)...)
	if err != nil {
		return nil, c.classify(ctx, ref.Context().Registry, err, "listing the referrers of "+ref.String())
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the referrers of %s: %w", ref, err)
	}
	out := make([]Referrer, 0, len(im.Manifests))
	for _, d := range im.Manifests {
		out = append(out, Referrer{Digest: d.Digest.String(), ArtifactType: d.ArtifactType, Annotations: d.Annotations})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

// Exists says whether the manifest repository@digest is in the registry.
func (c *Client) Exists(ctx context.Context, repository, digest string) (bool, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return false, err
	}
	_, err = remote.Head(ref, c.options(ctx)...)
	if err == nil {
		return true, nil
	}
	if err = c.classify(ctx, ref.Context().Registry, err, "reading manifest "+ref.String()); errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return false, err
}

// Fetch reads an attachment's document: the artifact manifest
// repository@digest and its one layer.
func (c *Client) Fetch(ctx context.Context, repository, digest string) (Artifact, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return Artifact{}, err
	}
	desc, err := remote.Get(ref, c.options(ctx)...)
	if err != nil {
		return Artifact{}, c.classify(ctx, ref.Context().Registry, err, "reading manifest "+ref.String())
	}
	var m artifactManifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return Artifact{}, fmt.Errorf("decoding manifest %s: %w", ref, err)
	}
	if len(m.Layers) != 1 {
		return Artifact{}, fmt.Errorf("manifest %s has %d layers, not the one document of an attachment", ref, len(m.Layers))
	}
	l, err := remote.Layer(ref.Context().Digest(m.Layers[0].Digest.String()), c.options(ctx)...)
	if err != nil {
		return Artifact{}, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return Artifact{}, c.classify(ctx, ref.Context().Registry, err, "reading the document of "+ref.String())
	}
	defer rc.Close()
	content, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return Artifact{}, fmt.Errorf("reading the document of %s: %w", ref, err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(content)); got != m.Layers[0].Digest {
		return Artifact{}, fmt.Errorf("the document of %s has digest %s, not %s", ref, got, m.Layers[0].Digest)
	}
	artifactType := m.ArtifactType
	if artifactType == "" {
		artifactType = string(m.Layers[0].MediaType)
	}
	a := Artifact{ArtifactType: artifactType, Content: content, Annotations: m.Annotations}
	if m.Subject != nil {
		a.Subject = m.Subject.Digest.String()
	}
	return a, nil
}

// Manifest returns the remote descriptor of repository@digest, from
// which its image or index and their layers are read lazily with ctx
// (no per-operation timeout, which would end those reads).
func (c *Client) Manifest(ctx context.Context, repository, digest string) (*remote.Descriptor, error) {
	ref, err := c.reference(ctx, repository, "@"+digest)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, c.options(ctx)...)
	if err != nil {
		return nil, c.classify(ctx, ref.Context().Registry, err, "reading manifest "+ref.String())
	}
	return desc, nil
}

// Attachment is an attachment's manifest and the manifest it is
// attached to.
type Attachment struct {
	Subject string `json:"subject"`
	Digest  string `json:"digest"`
	// Kind says what it is, for its owner: "sbom", "provenance",
	// "signature".
	Kind string `json:"kind,omitempty"`
	// Signature is, for a signature, the signature itself, by which its
	// owner finds it again among other signers' in the same image.
	Signature string `json:"signature,omitempty"`
}

// DeleteAttachments deletes the given attachments of repository (those
// already gone are no error) and takes them out of each subject's
// fallback tag, under the subject's lock: the tag's index is rewritten
// without them, or deleted when nothing else is listed there, so that
// what other tools listed stays and nothing listed is gone.
func (c *Client) DeleteAttachments(ctx context.Context, repository string, attachments []Attachment) error {
	ours := map[string]map[string]bool{}
	for _, a := range attachments {
		if err := c.Delete(ctx, repository, a.Digest); err != nil {
			return err
		}
		if ours[a.Subject] == nil {
			ours[a.Subject] = map[string]bool{}
		}
		ours[a.Subject][a.Digest] = true
	}
	subjects := make([]string, 0, len(ours))
	for s := range ours {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	for _, subject := range subjects {
		if err := c.unlist(ctx, repository, subject, ours[subject]); err != nil {
			return err
		}
	}
	return nil
}

// unlist takes digests out of subject's fallback tag.
func (c *Client) unlist(ctx context.Context, repository, subject string, digests map[string]bool) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	tag := strings.Replace(subject, ":", "-", 1)
	ref, err := c.reference(ctx, repository, ":"+tag)
	if err != nil {
		return err
	}
	unlock := lockSubject(ref.Context().String() + "@" + subject)
	defer unlock()
	desc, err := remote.Get(ref, c.options(ctx)...)
	if err != nil {
		if err = c.classify(ctx, ref.Context().Registry, err, "reading "+ref.String()); errors.Is(err, ErrNotFound) {
			return nil // no fallback tag: a registry with the referrers API
		}
		return err
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &im); err != nil || !desc.MediaType.IsIndex() {
		return nil // not a referrers index: not ours to rewrite
	}
	var kept []v1.Descriptor
	for _, m := range im.Manifests {
		if !digests[m.Digest.String()] {
			kept = append(kept, m)
		}
	}
	if len(kept) == len(im.Manifests) {
		return nil
	}
	if len(kept) > 0 {
		im.Manifests = kept
		raw, err := json.Marshal(im)
		if err != nil {
			return err
		}
		if err := remote.Put(ref, rawManifest{raw: raw, mediaType: types.OCIImageIndex}, c.options(ctx)...); err != nil {
			return classifyCodes(err, "rewriting "+ref.String())
		}
		return nil
	}
	// Nothing else listed: the tag goes, then its index, where the
	// registry deletes tags (a manifest deleted by digest may leave them).
	if err := c.Untag(ctx, repository, tag); err != nil && !errors.Is(err, ErrTagDeleteUnsupported) {
		return err
	}
	return c.Delete(ctx, repository, desc.Digest.String())
}
