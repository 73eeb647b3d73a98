package registry

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

// TestSignatureIsPushedWithoutAskingForItsBlobs: a new signature's
// payload and config go up in two requests each and nobody asks
// whether they are there; the signature image then holds both
// signatures, each verifying. A registry that refuses the content in
// the closing request still gets the signatures, the long way.
func TestSignatureIsPushedWithoutAskingForItsBlobs(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		ctx := context.Background()
		c, host, l := loggedRegistry(t, refuse)
		repo := clusterRegistry + "/app"
		subject := push(t, host, "app:v1", nil).String()
		var keys []signature.SignerVerifier
		for range 2 {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			sv, err := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, sv)
		}
		l.mu.Lock()
		l.seen = nil
		l.mu.Unlock()
		for _, sv := range keys {
			if _, err := signing.Sign(ctx, c, repo, subject, sv); err != nil {
				t.Fatalf("refusing monolithic uploads %v: %v", refuse, err)
			}
		}
		l.mu.Lock()
		var uploads, asks int
		for _, s := range l.seen {
			switch {
			case strings.Contains(s, "/blobs/uploads/"):
				uploads++
			case strings.HasPrefix(s, "HEAD ") && strings.Contains(s, "/blobs/"):
				asks++
			}
		}
		l.mu.Unlock()
		if !refuse && (uploads != 8 || asks != 0) {
			t.Errorf("two signatures took %d upload requests and %d existence checks; want 8 (two blobs each, two requests a blob) and 0", uploads, asks)
		}
		for i, sv := range keys {
			if _, err := signing.Verify(ctx, c, repo, subject, sv); err != nil {
				t.Errorf("refusing monolithic uploads %v: signature %d does not verify: %v", refuse, i, err)
			}
		}
		ref, _ := name.ParseReference(host+"/app:"+strings.Replace(subject, ":", "-", 1)+".sig", name.Insecure)
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 2 {
			t.Errorf("the signature image has %d layers (%v); want one per signature", len(layers), err)
		}
		for _, layer := range layers {
			d, _ := layer.Digest()
			if _, err := remote.Layer(ref.Context().Digest(d.String())); err != nil {
				t.Errorf("blob %s of the signature image is not in the registry: %v", d, err)
			}
		}
	}
}
