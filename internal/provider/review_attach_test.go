package provider

import (
	"context"
	"errors"

	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"io"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"log"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/attest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

func TestHostile_RemovedSBOMKeepsItsSignature(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	const host = "registry.kube-system.svc.cluster.local:5000"
	c := &registry.Client{Hosts: map[string]string{host: u.Host}, Insecure: []string{host}}
	repo := host + "/app"
	img, _ := random.Image(256, 1)
	cfg, _ := img.ConfigFile()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	img, _ = mutate.ConfigFile(img, cfg)
	ref, _ := name.ParseReference(u.Host+"/app:v1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	dg, _ := img.Digest()
	digest := dg.String()
	got, err := attest.Attach(ctx, c, attest.Request{SBOMFormat: attest.FormatSPDX, Repository: repo, Digest: digest, Tool: "t"})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sv, _ := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
	imgSig, _ := signing.Sign(ctx, c, repo, digest, sv)
	sbomSig, _ := signing.Sign(ctx, c, repo, got.SBOM, sv)
	records := append(got.All, registry.Attachment{Subject: digest, Digest: imgSig.Image, Kind: kindSignature, Signature: imgSig.Signature},
		registry.Attachment{Subject: got.SBOM, Digest: sbomSig.Image, Kind: kindSignature, Signature: sbomSig.Signature})
	prior := imageResourceModel{Repository: types.StringValue(repo), Digest: types.StringValue(digest), SBOM: &sbomModel{},
		Signing: &signingModel{KeySecret: types.StringValue("k")}, SBOMDigest: types.StringValue(got.SBOM),
		ProvenanceDigest: types.StringNull(), SignatureDigest: types.StringValue(imgSig.Image)}
	plan := prior
	plan.SBOM = nil
	planAttachments(&plan, &prior, true)
	r := &imageResource{p: &providerData{registry: c, version: "test"}}
	var diags diag.Diagnostics
	keep := r.attach(ctx, &plan, &prior, buildFacts{}, records, &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if ok, _ := c.Exists(ctx, repo, got.SBOM); ok {
		t.Error("SBOM not detached")
	}
	for _, a := range keep {
		if a.Subject == got.SBOM {
			t.Errorf("the removed SBOM's signature is kept: %+v", a)
		}
	}
	if _, err := c.ResolveTag(ctx, repo, strings.Replace(got.SBOM, ":", "-", 1)+".sig"); err == nil {
		t.Errorf("the removed SBOM's signature tag is still in the registry")
	}
}

// key_secret from a resource created in the same apply is unknown at plan.
func TestHostile_UnknownKeySecretPlansNoSignature(t *testing.T) {
	plan := imageResourceModel{Signing: &signingModel{KeySecret: types.StringUnknown()}}
	planAttachments(&plan, nil, true)
	if !plan.SignatureDigest.IsUnknown() {
		t.Errorf("unknown key_secret: signature_digest planned %v; at apply attach() sees a known null and signs nothing", plan.SignatureDigest)
	}
	// unknown format/mode on update: planned as the state's digest, not re-attached at apply
	d := types.StringValue("sha256:1")
	state := imageResourceModel{SBOM: &sbomModel{Format: types.StringValue("spdx-json")}, SBOMDigest: d,
		Provenance: &provenanceModel{Mode: types.StringValue("min")}, ProvenanceDigest: d}
	plan = imageResourceModel{SBOM: &sbomModel{Format: types.StringUnknown()}, Provenance: &provenanceModel{Mode: types.StringUnknown()}}
	planAttachments(&plan, &state, true)
	if !plan.SBOMDigest.IsUnknown() || !plan.ProvenanceDigest.IsUnknown() {
		t.Errorf("unknown format/mode planned sbom %v provenance %v (kept), though they may resolve to cyclonedx-json/max", plan.SBOMDigest, plan.ProvenanceDigest)
	}
}

type rvCluster struct{ c kubernetes.Interface }

func (r rvCluster) Clients() (kubernetes.Interface, kube.Attacher, error) { return r.c, nil, nil }
func (r rvCluster) RESTConfig() (*rest.Config, error)                     { return nil, errors.New("no") }

// key_secret changed to a Secret that cannot be read: the apply fails,
// and on the way deletes the image's existing valid signature.
func TestHostile_FailedSigningDeletesExistingSignatures(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	const host = "registry.kube-system.svc.cluster.local:5000"
	c := &registry.Client{Hosts: map[string]string{host: u.Host}, Insecure: []string{host}}
	repo := host + "/app"
	img, _ := random.Image(256, 1)
	ref, _ := name.ParseReference(u.Host+"/app:v1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	dg, _ := img.Digest()
	digest := dg.String()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sv, _ := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
	imgSig, _ := signing.Sign(ctx, c, repo, digest, sv)
	records := []registry.Attachment{{Subject: digest, Digest: imgSig.Image, Kind: kindSignature, Signature: imgSig.Signature}}
	prior := imageResourceModel{Repository: types.StringValue(repo), Digest: types.StringValue(digest), Namespace: types.StringValue("default"),
		Signing: &signingModel{KeySecret: types.StringValue("image-signing")}, SBOMDigest: types.StringNull(),
		ProvenanceDigest: types.StringNull(), SignatureDigest: types.StringValue(imgSig.Image)}
	plan := prior
	plan.Signing = &signingModel{KeySecret: types.StringValue("image-signing-typo")}
	planAttachments(&plan, &prior, true)
	r := &imageResource{p: &providerData{registry: c, version: "test", cluster: rvCluster{fake.NewSimpleClientset()}}}
	var diags diag.Diagnostics
	r.attach(ctx, &plan, &prior, buildFacts{}, records, &diags)
	t.Logf("diags: %v", diags)
	if _, err := signing.Verify(ctx, c, repo, digest, sv); err != nil {
		t.Errorf("a failed signing deleted the image's existing signature: %v", err)
	}
	if ok, _ := c.Exists(ctx, repo, imgSig.Image); !ok {
		t.Errorf("signature image %s deleted by a failed apply", imgSig.Image)
	}
}
