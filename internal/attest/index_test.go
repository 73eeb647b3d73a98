package attest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// TestAttachToAnIndex attaches to a two-platform index: the index gets
// one SBOM of both platforms, each platform's image its own, and the
// provenance goes on all three.
func TestAttachToAnIndex(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	platformImage := func(arch, content string) (v1.Image, v1.Image) {
		base, _ := mutate.AppendLayers(empty.Image, imagefstest.Layer(t, fileEntry("etc/arch", arch)))
		cfg, _ := base.ConfigFile()
		cfg.OS, cfg.Architecture = "linux", arch
		base, _ = mutate.ConfigFile(base, cfg)
		img, _ := mutate.AppendLayers(base, imagefstest.Layer(t, imagefstest.Entry{Header: tar.Header{Name: "app/bin", Typeflag: tar.TypeReg, Mode: 0o755}, Content: content}))
		return base, img
	}
	amdBase, amd := platformImage("amd64", "amd64 binary")
	armBase, arm := platformImage("arm64", "arm64 binary")
	index := func(a, b v1.Image) v1.ImageIndex {
		return mutate.AppendManifests(empty.Index,
			mutate.IndexAddendum{Add: a, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
			mutate.IndexAddendum{Add: b, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	}
	push := func(repoTag string, idx v1.ImageIndex) string {
		ref, _ := name.ParseReference(f.host+"/"+repoTag, name.Insecure)
		if err := remote.WriteIndex(ref, idx); err != nil {
			t.Fatal(err)
		}
		d, _ := idx.Digest()
		return d.String()
	}
	baseDigest := push("base:multi", index(amdBase, armBase))
	digest := push("app:multi", index(amd, arm))
	amdDigest, _ := amd.Digest()
	armDigest, _ := arm.Digest()
	// Every attachment's digest is told before it is pushed, so that it
	// can be signed meanwhile.
	var mu sync.Mutex
	prepared := map[string]bool{}
	got, err := Attach(ctx, f.client, Request{SBOMFormat: FormatSPDX, ProvenanceMode: ProvenanceMin, Repository: f.repo, Digest: digest,
		PlatformDigests: map[string]string{"linux/amd64": amdDigest.String(), "linux/arm64": armDigest.String()},
		BaseRef:         f.base + ":multi", BaseDigest: baseDigest, Tool: "test",
		Provenance: ProvenanceInput{Executor: "direct", Platforms: []string{"linux/amd64", "linux/arm64"}, Reproducible: true},
		Prepared: func(d string) {
			if ok, err := f.client.Exists(ctx, f.repo, d); err != nil || ok {
				t.Errorf("%s told when it was already pushed (%v)", d, err)
			}
			mu.Lock()
			prepared[d] = true
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.All) != 6 || len(prepared) != len(got.All) {
		t.Errorf("%d attachments, %d digests told: %v", len(got.All), len(prepared), prepared)
	}
	for _, a := range got.All {
		if !prepared[a.Digest] {
			t.Errorf("the digest of %s attachment %s of %s was not told", a.Kind, a.Digest, a.Subject)
		}
	}
	if len(got.Platforms) != 2 || got.Platforms["linux/arm64"].SBOM == "" || got.Platforms["linux/arm64"].Provenance == "" {
		t.Fatalf("platform attachments %+v", got.Platforms)
	}
	for p, d := range map[string]string{"linux/amd64": amdDigest.String(), "linux/arm64": armDigest.String()} {
		refs, err := f.client.Referrers(ctx, f.repo, d)
		if err != nil || len(refs) != 2 {
			t.Fatalf("%s: referrers %v (%v)", p, refs, err)
		}
		doc, err := spdxjson.Read(bytes.NewReader(f.fetch(t, got.Platforms[p].SBOM).Content))
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Files) != 1 {
			t.Errorf("%s: the platform's SBOM lists %d files, want its one added binary (the base's are not added)", p, len(doc.Files))
		}
	}
	doc, err := spdxjson.Read(bytes.NewReader(f.fetch(t, got.SBOM).Content))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Files) != 2 {
		t.Errorf("the index's SBOM lists %d files, want one per platform", len(doc.Files))
	}
}

// TestSBOMRefersToTheBasesOwnSBOM attaches an SBOM to the base first:
// the image's SBOM then names it as an external document, by namespace
// and SHA-1, and relates the base package to it.
func TestSBOMRefersToTheBasesOwnSBOM(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	baseDoc, _, err := SBOM(FormatSPDX, SBOMInput{Image: Image{Repository: f.base, Digest: f.baseDigest}, Tool: "the base's builder"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Attach(ctx, f.base, f.baseDigest, registry.Artifact{ArtifactType: MediaTypeSPDX, Content: baseDoc}); err != nil {
		t.Fatal(err)
	}
	got, err := Attach(ctx, f.client, f.request(FormatSPDX, ""))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := spdxjson.Read(bytes.NewReader(f.fetch(t, got.SBOM).Content))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(baseDoc)
	if len(doc.ExternalDocumentReferences) != 1 || doc.ExternalDocumentReferences[0].URI != "https://onesbuild.invalid/spdx/"+f.base+"@"+f.baseDigest ||
		doc.ExternalDocumentReferences[0].Checksum.Value != hex.EncodeToString(sum[:]) {
		t.Fatalf("external documents %+v", doc.ExternalDocumentReferences)
	}
	related := false
	for _, r := range doc.Relationships {
		related = related || (r.Relationship == "DESCRIBED_BY" && r.RefB.DocumentRefID == "Base")
	}
	if !related {
		t.Error("the base package is not DESCRIBED_BY the base's SBOM")
	}
}
