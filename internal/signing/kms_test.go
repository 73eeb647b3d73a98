package signing

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing/kmstest"
)

func TestSignWithAKMSPlugin(t *testing.T) {
	ctx := context.Background()
	kmstest.Install(t)
	c, host := testRegistry(t)
	repo := clusterRegistry + "/app"
	a, b := pushRandom(t, host, "app:a"), pushRandom(t, host, "app:b")
	ref, pubPEM := kmstest.NewKey(t)

	sv, err := LoadKMS(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// The public key comes from the KMS.
	got, err := PublicKeyPEM(sv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pubPEM) {
		t.Fatalf("the KMS's public key:\n%s\nwant\n%s", got, pubPEM)
	}
	if _, err := Sign(ctx, c, repo, a, sv); err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, c, repo, a, pub); err != nil {
		t.Fatalf("the KMS's signature does not verify with its public key: %v", err)
	}
	if _, err := Verify(ctx, c, repo, b, pub); !errors.Is(err, ErrNotSigned) {
		t.Errorf("an image the KMS did not sign verified: %v", err)
	}
	_, otherPEM := kmstest.NewKey(t)
	other, _ := LoadPublicKey(otherPEM)
	if _, err := Verify(ctx, c, repo, a, other); !errors.Is(err, ErrNoValidSignature) {
		t.Errorf("another KMS key verified: %v", err)
	}
	// The KMS also verifies (a signer loaded from it is its own verifier).
	if _, err := Verify(ctx, c, repo, a, sv); err != nil {
		t.Errorf("the KMS does not verify its own signature: %v", err)
	}
}

func TestKMSReferences(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{"", "hashivault", "://key", "vault://", "my kms://key"} {
		if _, err := LoadKMS(ctx, bad); err == nil {
			t.Errorf("LoadKMS(%q) accepted it", bad)
		}
	}
	t.Setenv("PATH", t.TempDir())
	_, err := LoadKMS(ctx, "nosuchkms://key")
	if !errors.Is(err, ErrNoKMSPlugin) {
		t.Fatalf("a scheme no plugin serves gave %v, want ErrNoKMSPlugin", err)
	}
	if KMSPluginName("awskms:///arn:aws:kms:eu-west-1:1:key/2") != "sigstore-kms-awskms" {
		t.Error("the plugin of awskms:// is not sigstore-kms-awskms")
	}
}
