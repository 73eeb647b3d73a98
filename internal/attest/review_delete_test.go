package attest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// The resource's Delete deletes the image first, then its attachments.
func TestHostile_DeleteAttachmentsAfterSubjectDeleted(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		ctx := context.Background()
		f := newFixture(t, referrers)
		got, err := Attach(ctx, f.client, f.request(FormatSPDX, ProvenanceMin))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.client.Delete(ctx, f.repo, f.digest); err != nil {
			t.Fatal(err)
		}
		err = f.client.DeleteAttachments(ctx, f.repo, got.All)
		tag := strings.Replace(f.digest, ":", "-", 1)
		_, terr := f.client.ResolveTag(ctx, f.repo, tag)
		t.Logf("referrers=%v: DeleteAttachments err=%v; fallback tag after: %v", referrers, err, terr)
		if err != nil || terr == nil {
			t.Errorf("referrers=%v: err=%v, fallback tag still there=%v", referrers, err, terr == nil)
		}
	}
}

// On a registry with the referrers API, a fallback tag may still list
// what another tool wrote there (tag schema clients); the foreign check
// only looks at the API's list.
func TestHostile_DeleteAttachmentsDeletesFallbackTagListingForeign(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	ours, err := f.client.Attach(ctx, f.repo, f.digest, registry.Artifact{ArtifactType: "application/spdx+json", Content: []byte(`{"ours":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	// Foreign artifact listed only in the tag (e.g. a manifest without subject,
	// as OCI 1.0-era tools and cosign's tag scheme do).
	fimg, _ := random.Image(64, 1)
	f.push(t, "app:foreign-artifact", fimg)
	fd, _ := fimg.Digest()
	fsz, _ := fimg.Size()
	fmt_, _ := fimg.MediaType()
	foreign := v1.Descriptor{MediaType: fmt_, ArtifactType: "application/vnd.foreign", Size: fsz, Digest: fd}
	tag := strings.Replace(f.digest, ":", "-", 1)
	tagRef, _ := name.ParseReference(f.host+"/app:"+tag, name.Insecure)
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	if idx, err := remote.Index(tagRef); err == nil {
		p, _ := idx.IndexManifest()
		im = *p
	} else {
		t.Logf("no fallback tag written on the referrers-API registry: %v", err)
	}
	im.Manifests = append(im.Manifests, foreign)
	raw, _ := json.Marshal(im)
	if err := remote.Put(tagRef, rawIndex{raw}); err != nil {
		t.Fatal(err)
	}
	if err := f.client.DeleteAttachments(ctx, f.repo, []registry.Attachment{{Subject: f.digest, Digest: ours, Kind: KindSBOM}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.ResolveTag(ctx, f.repo, tag); err != nil {
		t.Errorf("the fallback tag listing a foreign entry was deleted: %v", err)
	}
}

func TestHostile_RemovedSBOMStillListedInFallback(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	got, err := Attach(ctx, f.client, f.request(FormatSPDX, ProvenanceMin))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.client.DeleteAttachments(ctx, f.repo, got.All[:1]); err != nil {
		t.Fatal(err)
	}
	refs, _ := f.client.Referrers(ctx, f.repo, f.digest)
	for _, r := range refs {
		if r.Digest == got.SBOM {
			t.Errorf("the detached SBOM %s is still listed by the fallback tag (dangling referrer)", r.Digest)
		}
	}
}
