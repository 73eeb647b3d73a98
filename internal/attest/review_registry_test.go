package attest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

func rvSPDXFiles(t *testing.T, f *fixture, d string) []string {
	t.Helper()
	doc, err := spdxjson.Read(bytes.NewReader(f.fetch(t, d).Content))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range doc.Files {
		out = append(out, x.FileName)
	}
	return out
}

// Kaniko --reproducible re-tars every layer (mutate.Canonical), base
// layers included: the base's layer digests are no longer a prefix.
func TestHostile_ReproducibleKanikoBaseLayersRewritten(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	mt := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	baseImg, _ := mutate.AppendLayers(empty.Image, imagefstest.Layer(t,
		imagefstest.Entry{Header: tar.Header{Name: "etc/debian_version", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mt}, Content: "12.5\n"},
		imagefstest.Entry{Header: tar.Header{Name: "bin/sh", Typeflag: tar.TypeReg, Mode: 0o755, ModTime: mt}, Content: "shell"}))
	cfg, _ := baseImg.ConfigFile()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	baseImg, _ = mutate.ConfigFile(baseImg, cfg)
	f.baseDigest = f.push(t, "base:v1", baseImg)
	img, _ := mutate.AppendLayers(baseImg, imagefstest.Layer(t, fileEntry("app/only-added", "x")))
	img, err := mutate.Canonical(img)
	if err != nil {
		t.Fatal(err)
	}
	f.digest = f.push(t, "app:repro", img)
	got, err := Attach(ctx, f.client, f.request(FormatSPDX, ""))
	if err != nil {
		t.Fatal(err)
	}
	if files := rvSPDXFiles(t, f, got.SBOM); len(files) != 1 {
		t.Errorf("SBOM of a Kaniko --reproducible build lists %v, want only ./app/only-added (base files reported as added)", files)
	}
}

// An image config without os/architecture (legal for an imported
// artifact): platformImages calls String on a nil *Platform.
func TestHostile_ConfigWithoutPlatform(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	img, _ := mutate.AppendLayers(empty.Image, imagefstest.Layer(t, fileEntry("x", "x")))
	f.digest = f.push(t, "app:noplatform", img)
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("Attach panicked: %v", r)
		}
	}()
	_, err := Attach(ctx, f.client, f.request(FormatSPDX, ""))
	t.Logf("err=%v", err)
}

// Verify reports as image B's verified SBOM a signed SBOM whose subject
// is image A, when B's fallback tag lists it (anyone with push rights
// can write the tag; they need no key).
func TestHostile_VerifyAcceptsSBOMOfAnotherSubject(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	key := newSigner(t)
	got, err := Attach(ctx, f.client, f.request(FormatSPDX, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{f.digest, got.SBOM, f.baseDigest} {
		if _, err := signing.Sign(ctx, f.client, f.repo, d, key); err != nil {
			t.Fatal(err)
		}
	}
	// image B: the base, pushed into the app repository too, signed.
	baseRef, _ := name.ParseReference(f.host+"/base:v1", name.Insecure)
	baseImg, _ := remote.Image(baseRef)
	b := f.push(t, "app:b", baseImg)
	if b != f.baseDigest {
		t.Fatal("digest")
	}
	// B's fallback tag lists A's SBOM manifest.
	sbomRef, _ := name.ParseReference(f.host+"/app@"+got.SBOM, name.Insecure)
	desc, err := remote.Get(sbomRef)
	if err != nil {
		t.Fatal(err)
	}
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(got.SBOM, "sha256:")}, Size: int64(len(desc.Manifest)), ArtifactType: MediaTypeSPDX}}}
	rawIdx, _ := json.Marshal(im)
	tagRef, _ := name.ParseReference(f.host+"/app:"+strings.Replace(b, ":", "-", 1), name.Insecure)
	if err := remote.Put(tagRef, rawIndex{rawIdx}); err != nil {
		t.Fatal(err)
	}
	v, err := Verify(ctx, f.client, f.repo, b, key)
	if err != nil {
		t.Fatal(err)
	}
	if v.SBOM != "" {
		t.Errorf("Verify(B) reports %s, an SBOM attached to A (%s), as B's signed SBOM", v.SBOM, f.digest)
	}
}

type rawIndex struct{ raw []byte }

func (r rawIndex) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

type rawArtifact struct{ raw []byte }

func (r rawArtifact) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawArtifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (r rawArtifact) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(r.raw))
	return h, err
}
func (r rawArtifact) Size() (int64, error) { return int64(len(r.raw)), nil }

func TestHostile_ConcurrentAttachesWithReferrersAPI(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		f := newFixture(t, referrers)
		const n = 16
		var wg sync.WaitGroup
		digests := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := f.client.Attach(context.Background(), f.repo, f.digest, registry.Artifact{ArtifactType: "application/x+json", Content: []byte(fmt.Sprint(i))})
				if err != nil {
					t.Error(err)
				}
				digests[i] = d
			}()
		}
		wg.Wait()
		refs, _ := f.client.Referrers(context.Background(), f.repo, f.digest)
		if len(refs) != n {
			t.Errorf("referrers=%v: %d listed of %d", referrers, len(refs), n)
		}
		// same tag via a second client instance (another resource's provider instance shares the process)
		tag := strings.Replace(f.digest, ":", "-", 1)
		ref, _ := name.ParseReference(f.host+"/app:"+tag, name.Insecure)
		if idx, err := remote.Index(ref); err == nil {
			im, _ := idx.IndexManifest()
			t.Logf("referrers=%v: fallback tag exists with %d entries", referrers, len(im.Manifests))
		}
	}
}

// Determinism across two calls with the disk cache cold then warm.
func TestHostile_DeterministicAcrossCache(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	req := f.request(FormatSPDX, ProvenanceMin)
	a1, err := Attach(ctx, f.client, req)
	if err != nil {
		t.Fatal(err)
	}
	req.Cache = &DatabaseCache{Dir: t.TempDir()}
	a2, _ := Attach(ctx, f.client, req)
	a3, _ := Attach(ctx, f.client, req)
	req.Cache = &DatabaseCache{Dir: req.Cache.Dir}
	a4, _ := Attach(ctx, f.client, req)
	if a1.SBOM != a2.SBOM || a2.SBOM != a3.SBOM || a3.SBOM != a4.SBOM {
		t.Errorf("%s %s %s %s", a1.SBOM, a2.SBOM, a3.SBOM, a4.SBOM)
	}
	req2 := f.request(FormatCycloneDX, ProvenanceMax)
	b1, _ := Attach(ctx, f.client, req2)
	b2, _ := Attach(ctx, f.client, req2)
	if b1.SBOM != b2.SBOM || b1.Provenance != b2.Provenance {
		t.Error("cdx not deterministic")
	}
	var raw map[string]any
	json.Unmarshal(f.fetch(t, b1.SBOM).Content, &raw)
}

var _ = tar.TypeReg
