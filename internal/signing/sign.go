package signing

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// Cosign's names for the parts of a signature.
const (
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	AnnotationSignature    = "dev.cosignproject.cosign/signature"
	payloadType            = "cosign container image signature"
)

// Registry is what signing needs of the registry client
// (*registry.Client): references as this process reaches them, the
// options to reach them with, and uploads of new small blobs.
type Registry interface {
	Reference(ctx context.Context, ref string) (name.Reference, error)
	RemoteOptions(ctx context.Context) []remote.Option
	UploadBlobs(ctx context.Context, repo name.Repository, contents ...[]byte) error
}

// payload is cosign's simple signing payload.
type payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// Payload is the simple signing payload for repository@digest, as
// cosign writes it.
func Payload(repository, digest string) []byte {
	var p payload
	p.Critical.Identity.DockerReference = repository
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = payloadType
	raw, _ := json.Marshal(p)
	return raw
}

// sigTag is the tag of a manifest's signatures: sha256-<hex>.sig.
func sigTag(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".sig" }

// signLocks serialise the signing of one manifest in this process: a
// signature is added by reading and rewriting the .sig image.
var signLocks sync.Map

// Signed is a signature Sign made or found.
type Signed struct {
	// Image is the digest of the signature image holding it.
	Image string
	// Signature is the signature, base64, as its layer's annotation holds
	// it: how Unsign finds it among other signers'.
	Signature string
}

func lockTag(tag string) func() {
	m, _ := signLocks.LoadOrStore(tag, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// Sign signs repository@digest (as the cluster names the repository).
// A signature by the same key already there is kept and not made again;
// signatures by other keys stay beside it.
func Sign(ctx context.Context, reg Registry, repository, digest string, sv signature.SignerVerifier) (Signed, error) {
	tagRef, err := reg.Reference(ctx, repository+":"+sigTag(digest))
	if err != nil {
		return Signed{}, err
	}
	opts := reg.RemoteOptions(ctx)
	defer lockTag(tagRef.String())()

	sigs := empty.Image
	existing, err := remote.Image(tagRef, opts...)
	switch {
	case err == nil:
		if found, ok := signedBy(existing, digest, sv); ok {
			return found, nil
		}
		sigs = existing
	case !isNotFound(err):
		return Signed{}, fmt.Errorf("reading the signatures of %s@%s: %w", repository, digest, err)
	}
	body := Payload(repository, digest)
	// With the context, a KMS plugin that hangs is killed when the
	// build is cancelled or times out.
	sig, err := sv.SignMessage(bytes.NewReader(body), options.WithContext(ctx))
	if err != nil {
		return Signed{}, fmt.Errorf("signing: %w", err)
	}
	encoded := base64.StdEncoding.EncodeToString(sig)
	layer := static.NewLayer(body, MediaTypeSimpleSigning)
	sigs = mutate.MediaType(sigs, types.OCIManifestSchema1)
	sigs = mutate.ConfigMediaType(sigs, types.OCIConfigJSON)
	sigs, err = mutate.Append(sigs, mutate.Addendum{Layer: layer, MediaType: MediaTypeSimpleSigning,
		Annotations: map[string]string{AnnotationSignature: encoded}})
	if err != nil {
		return Signed{}, err
	}
	if err := push(ctx, reg, tagRef, sigs, body, existing == nil); err != nil {
		return Signed{}, fmt.Errorf("pushing the signature of %s@%s: %w", repository, digest, err)
	}
	d, err := sigs.Digest()
	if err != nil {
		return Signed{}, err
	}
	return Signed{Image: d.String(), Signature: encoded}, nil
}

// push writes the signature image. A new one (fresh) has two blobs, the
// payload just signed and the config: both are uploaded at once, in two
// requests each, then the manifest; remote.Write would ask for every
// blob first and upload each in three requests, one after the other. An
// image that held other signatures is written remote.Write's way, which
// also finds their blobs still there (a manifest is never written over a
// blob the registry has lost).
func push(ctx context.Context, reg Registry, tagRef name.Reference, sigs v1.Image, payload []byte, fresh bool) error {
	if !fresh {
		return remote.Write(tagRef, sigs, reg.RemoteOptions(ctx)...)
	}
	config, err := sigs.RawConfigFile()
	if err != nil {
		return err
	}
	if err := reg.UploadBlobs(ctx, tagRef.Context(), payload, config); err != nil {
		return err
	}
	return remote.Put(tagRef, sigs, reg.RemoteOptions(ctx)...)
}

// Unsign removes the given signatures (as Signed.Signature) of
// repository@digest from its signature image, keeping other signers';
// with none left, the signature image goes. Signatures already gone are
// no error.
func Unsign(ctx context.Context, reg Registry, repository, digest string, signatures []string) error {
	tagRef, err := reg.Reference(ctx, repository+":"+sigTag(digest))
	if err != nil {
		return err
	}
	opts := reg.RemoteOptions(ctx)
	defer lockTag(tagRef.String())()
	sigs, err := remote.Image(tagRef, opts...)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the signatures of %s@%s: %w", repository, digest, err)
	}
	drop := map[string]bool{}
	for _, s := range signatures {
		drop[s] = true
	}
	m, err := sigs.Manifest()
	if err != nil {
		return err
	}
	layers, err := sigs.Layers()
	if err != nil {
		return err
	}
	kept := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	kept = mutate.ConfigMediaType(kept, types.OCIConfigJSON)
	n := 0
	for i, l := range layers {
		if i < len(m.Layers) && drop[m.Layers[i].Annotations[AnnotationSignature]] {
			continue
		}
		add := mutate.Addendum{Layer: l}
		if i < len(m.Layers) {
			add.MediaType, add.Annotations = m.Layers[i].MediaType, m.Layers[i].Annotations
		}
		if kept, err = mutate.Append(kept, add); err != nil {
			return err
		}
		n++
	}
	if n == len(layers) {
		return nil
	}
	if n > 0 {
		if err := remote.Write(tagRef, kept, opts...); err != nil {
			return fmt.Errorf("rewriting the signatures of %s@%s: %w", repository, digest, err)
		}
		return nil
	}
	old, err := sigs.Digest()
	if err != nil {
		return err
	}
	// The tag first where the registry deletes tags, then the image.
	if err := remote.Delete(tagRef, opts...); err != nil && !isNotFound(err) && !tagDeleteRefused(err) {
		return fmt.Errorf("removing %s: %w", tagRef, err)
	}
	if err := remote.Delete(tagRef.Context().Digest(old.String()), opts...); err != nil && !isNotFound(err) {
		return fmt.Errorf("removing the signature image of %s@%s: %w", repository, digest, err)
	}
	return nil
}

// tagDeleteRefused says a registry does not delete tags (the OCI
// distribution spec lets it answer 400 or 405).
func tagDeleteRefused(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && (terr.StatusCode == 400 || terr.StatusCode == 405)
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == 404
}

// signedBy finds a signature of digest by v's key among the .sig
// image's layers.
func signedBy(sigs v1.Image, digest string, v signature.Verifier) (Signed, bool) {
	_, sig, err := verifyLayers(sigs, digest, v)
	if err != nil {
		return Signed{}, false
	}
	d, err := sigs.Digest()
	if err != nil {
		return Signed{}, false
	}
	return Signed{Image: d.String(), Signature: sig}, true
}

// Verified is what Verify found.
type Verified struct {
	// SignatureImage is the digest of the .sig image holding the
	// signature that verified.
	SignatureImage string
	// Payload is the signed payload.
	Payload []byte
}

// ErrNotSigned means repository@digest has no signature at all.
var ErrNotSigned = errors.New("no signature")

// ErrNoValidSignature means it has signatures, and none verifies with
// the key for that digest.
var ErrNoValidSignature = errors.New("no signature verifies with the key")

// Verify checks that repository@digest has a signature by v's key whose
// payload names that digest.
func Verify(ctx context.Context, reg Registry, repository, digest string, v signature.Verifier) (Verified, error) {
	tagRef, err := reg.Reference(ctx, repository+":"+sigTag(digest))
	if err != nil {
		return Verified{}, err
	}
	sigs, err := remote.Image(tagRef, reg.RemoteOptions(ctx)...)
	if isNotFound(err) {
		return Verified{}, fmt.Errorf("%s@%s: %w (no %s)", repository, digest, ErrNotSigned, sigTag(digest))
	}
	if err != nil {
		return Verified{}, fmt.Errorf("reading the signatures of %s@%s: %w", repository, digest, err)
	}
	body, _, err := verifyLayers(sigs, digest, v)
	if err != nil {
		return Verified{}, fmt.Errorf("%s@%s: %w", repository, digest, err)
	}
	d, err := sigs.Digest()
	if err != nil {
		return Verified{}, err
	}
	return Verified{SignatureImage: d.String(), Payload: body}, nil
}

// verifyLayers returns the first payload among the signature layers that
// verifies with v and names digest, and its signature.
func verifyLayers(sigs v1.Image, digest string, v signature.Verifier) ([]byte, string, error) {
	m, err := sigs.Manifest()
	if err != nil {
		return nil, "", err
	}
	layers, err := sigs.Layers()
	if err != nil {
		return nil, "", err
	}
	if len(layers) == 0 {
		return nil, "", ErrNotSigned
	}
	for i, l := range layers {
		if i >= len(m.Layers) {
			break
		}
		sig, err := base64.StdEncoding.DecodeString(m.Layers[i].Annotations[AnnotationSignature])
		if err != nil || len(sig) == 0 {
			continue
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, "", err
		}
		body, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			return nil, "", err
		}
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(body)) != nil {
			continue
		}
		var p payload
		if json.Unmarshal(body, &p) != nil || p.Critical.Image.DockerManifestDigest != digest || p.Critical.Type != payloadType {
			continue
		}
		return body, m.Layers[i].Annotations[AnnotationSignature], nil
	}
	return nil, "", ErrNoValidSignature
}
