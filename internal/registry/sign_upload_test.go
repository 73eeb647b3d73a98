package registry

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

// TestSignatureIsPushedWithoutAskingForItsBlobs: a new signature
// image's payload and config go up in two requests each and nobody asks
// whether they are there; a second signer's signature then goes beside
// the first, and both verify. A registry that refuses the content in
// the closing request still gets the signatures, the long way.
func TestSignatureIsPushedWithoutAskingForItsBlobs(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		ctx := context.Background()
		c, host, l := loggedRegistry(t, refuse)
		repo := clusterRegistry + "/app"
		subject := push(t, host, "app:v1", nil).String()
		keys := []signature.SignerVerifier{newSigner(t), newSigner(t)}
		l.mu.Lock()
		l.seen = nil
		l.mu.Unlock()
		if _, err := signing.Sign(ctx, c, repo, subject, keys[0]); err != nil {
			t.Fatalf("refusing monolithic uploads %v: %v", refuse, err)
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
		if !refuse && (uploads != 4 || asks != 0) {
			t.Errorf("a new signature took %d upload requests and %d existence checks; want 4 (two blobs, two requests each) and 0", uploads, asks)
		}
		// A second signer's goes beside the first's.
		if _, err := signing.Sign(ctx, c, repo, subject, keys[1]); err != nil {
			t.Fatalf("refusing monolithic uploads %v: the second signature: %v", refuse, err)
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

// A signature image that names a blob the registry has lost (another
// tool's signature, garbage-collected) is not written again over it:
// signing fails, and the image stays as it was.
func TestSignatureIsNotWrittenOverAMissingBlob(t *testing.T) {
	ctx := context.Background()
	c, host, _ := loggedRegistry(t, false)
	repo := clusterRegistry + "/app"
	subject := push(t, host, "app:v1", nil).String()
	// Another tool's signature: a payload of its own naming.
	theirs := static.NewLayer(signing.Payload("elsewhere.example/app", subject), signing.MediaTypeSimpleSigning)
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: theirs, MediaType: signing.MediaTypeSimpleSigning,
		Annotations: map[string]string{signing.AnnotationSignature: "c2lnbmF0dXJl"}})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/app:"+strings.Replace(subject, ":", "-", 1)+".sig", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	before, _ := img.Digest()
	lost, _ := theirs.Digest()
	req, _ := http.NewRequest(http.MethodDelete, "http://"+host+"/v2/app/blobs/"+lost.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting the blob: %v %v", resp, err)
	}
	resp.Body.Close()

	if _, err := signing.Sign(ctx, c, repo, subject, newSigner(t)); err == nil {
		t.Error("a signature was written into an image that names a blob the registry lost")
	}
	after, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := after.Digest(); d != before {
		t.Errorf("the signature image changed to %s; want it as it was, %s", d, before)
	}
}

// newSigner is a new ECDSA P-256 key, as cosign generates.
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
