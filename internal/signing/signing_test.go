package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

const clusterRegistry = "registry.kube-system.svc.cluster.local:5000"

func testRegistry(t *testing.T) (*registry.Client, string) {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &registry.Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}}, u.Host
}

func pushRandom(t *testing.T, host, repoTag string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/"+repoTag, name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

// newKey makes a key pair the way cosign generate-key-pair stores it:
// the encrypted PEM and its password.
func newKey(t *testing.T, password string) (keyPEM []byte, sv signature.SignerVerifier) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err = EncryptPrivateKey(k, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	sv, err = LoadPrivateKey(keyPEM, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return keyPEM, sv
}

func TestSignAndVerify(t *testing.T) {
	ctx := context.Background()
	c, host := testRegistry(t)
	repo := clusterRegistry + "/app"
	a, b := pushRandom(t, host, "app:a"), pushRandom(t, host, "app:b")
	keyPEM, sv := newKey(t, "correct horse")
	if !strings.Contains(string(keyPEM), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Fatalf("not cosign's key format:\n%s", keyPEM)
	}
	if _, err := LoadPrivateKey(keyPEM, []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("a wrong password gave %v", err)
	}
	signed, err := Sign(ctx, c, repo, a, sv)
	if err != nil {
		t.Fatal(err)
	}
	sigImage := signed.Image
	pubPEM, err := PublicKeyPEM(sv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(ctx, c, repo, a, pub)
	if err != nil {
		t.Fatal(err)
	}
	if got.SignatureImage != sigImage || !strings.Contains(string(got.Payload), a) {
		t.Errorf("verified %+v, signed %s", got, sigImage)
	}
	// Another digest is not signed by it.
	if _, err := Verify(ctx, c, repo, b, pub); !errors.Is(err, ErrNotSigned) {
		t.Errorf("an unsigned image verified: %v", err)
	}
	// Another key does not verify.
	_, other := newKey(t, "other")
	if _, err := Verify(ctx, c, repo, a, other); !errors.Is(err, ErrNoValidSignature) {
		t.Errorf("another key verified: %v", err)
	}
	// Signing again with the same key keeps the signature.
	again, err := Sign(ctx, c, repo, a, sv)
	if err != nil || again != signed {
		t.Errorf("signing again gave %s (%v), want the same signature image %s", again, err, sigImage)
	}
	// A second signer is added beside the first: both verify.
	second, err := Sign(ctx, c, repo, a, other)
	if err != nil || second.Image == sigImage {
		t.Fatalf("second signer: %s, %v", second, err)
	}
	for _, v := range []signature.Verifier{pub, other} {
		if _, err := Verify(ctx, c, repo, a, v); err != nil {
			t.Errorf("after a second signer: %v", err)
		}
	}
	// A signature copied onto another digest's tag does not verify for it:
	// the payload names the digest it was made for.
	sigRef, _ := name.ParseReference(host+"/app:"+sigTag(a), name.Insecure)
	img, err := remote.Image(sigRef)
	if err != nil {
		t.Fatal(err)
	}
	moved, _ := name.ParseReference(host+"/app:"+sigTag(b), name.Insecure)
	if err := remote.Write(moved, img); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, c, repo, b, pub); !errors.Is(err, ErrNoValidSignature) {
		t.Errorf("a signature of %s verified for %s: %v", a, b, err)
	}
}

func TestLoadPrivateKeyRejectsOtherPEM(t *testing.T) {
	if _, err := LoadPrivateKey([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), nil); err == nil || !strings.Contains(err.Error(), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Errorf("an unencrypted PEM key: %v", err)
	}
	if _, err := LoadPrivateKey([]byte("not a key"), nil); err == nil {
		t.Error("garbage accepted")
	}
}

// TestUnsignKeepsOtherSigners removes this key's signature from an image
// another key signed too: the other still verifies, ours no longer; with
// nothing left the signature image goes.
func TestUnsignKeepsOtherSigners(t *testing.T) {
	ctx := context.Background()
	c, host := testRegistry(t)
	repo := clusterRegistry + "/app"
	d := pushRandom(t, host, "app:a")
	_, ours := newKey(t, "a")
	_, theirs := newKey(t, "b")
	mine, err := Sign(ctx, c, repo, d, ours)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(ctx, c, repo, d, theirs); err != nil {
		t.Fatal(err)
	}
	if err := Unsign(ctx, c, repo, d, []string{mine.Signature}); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, c, repo, d, ours); err == nil {
		t.Error("our signature still verifies after Unsign")
	}
	if _, err := Verify(ctx, c, repo, d, theirs); err != nil {
		t.Errorf("the other signer's signature is gone: %v", err)
	}
	again, err := Sign(ctx, c, repo, d, ours)
	if err != nil {
		t.Fatal(err)
	}
	theirsSigned, _ := Sign(ctx, c, repo, d, theirs)
	if err := Unsign(ctx, c, repo, d, []string{again.Signature, theirsSigned.Signature}); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, c, repo, d, theirs); !errors.Is(err, ErrNotSigned) {
		t.Errorf("with every signature removed: %v, want no signature image", err)
	}
	if err := Unsign(ctx, c, repo, d, []string{again.Signature}); err != nil {
		t.Errorf("unsigning what is gone: %v", err)
	}
}

// TestEd25519AsCosignSigns signs with an Ed25519 key, which cosign uses
// prehashed (Ed25519ph), and verifies with the public key alone.
func TestEd25519AsCosignSigns(t *testing.T) {
	ctx := context.Background()
	c, host := testRegistry(t)
	repo := clusterRegistry + "/app"
	d := pushRandom(t, host, "app:a")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := EncryptPrivateKey(priv, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := LoadPrivateKey(keyPEM, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(ctx, c, repo, d, sv); err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := PublicKeyPEM(sv)
	pub, err := LoadPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, c, repo, d, pub); err != nil {
		t.Fatal(err)
	}
}
