package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

func newSigner(t *testing.T) signature.SignerVerifier {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

func TestVerifyTrustsOnlyWhatTheKeySigned(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	got, err := Attach(ctx, f.client, f.request(FormatSPDX, ProvenanceMin))
	if err != nil {
		t.Fatal(err)
	}
	key, other := newSigner(t), newSigner(t)
	if _, err := Verify(ctx, f.client, f.repo, f.digest, key); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("an unsigned image verified: %v", err)
	}
	for _, d := range []string{f.digest, got.SBOM} {
		if _, err := signing.Sign(ctx, f.client, f.repo, d, key); err != nil {
			t.Fatal(err)
		}
	}
	// The provenance is signed by another key only: not trusted.
	if _, err := signing.Sign(ctx, f.client, f.repo, got.Provenance, other); err != nil {
		t.Fatal(err)
	}
	v, err := Verify(ctx, f.client, f.repo, f.digest, key)
	if err != nil {
		t.Fatal(err)
	}
	if v.SBOM != got.SBOM || v.SBOMType != MediaTypeSPDX || v.Provenance != "" || v.Signature == "" {
		t.Errorf("verified %+v, attached %+v", v, got)
	}
	if _, err := signing.Sign(ctx, f.client, f.repo, got.Provenance, key); err != nil {
		t.Fatal(err)
	}
	v, err = Verify(ctx, f.client, f.repo, f.digest, key)
	if err != nil {
		t.Fatal(err)
	}
	if v.Provenance != got.Provenance || v.BaseImageDigest != f.baseDigest || v.ContextSHA256 != strings.Repeat("c", 64) || v.BuilderID != BuilderID {
		t.Errorf("verified provenance %+v", v)
	}
	if _, err := Verify(ctx, f.client, f.repo, f.digest, other); !errors.Is(err, ErrUnsigned) {
		t.Errorf("another key verified the image: %v", err)
	}
}
