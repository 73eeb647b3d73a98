package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

// VerifyRegistry is what verifying needs of the registry client.
type VerifyRegistry interface {
	Registry
	signing.Registry
}

// Verification is what Verify proved of an image.
type Verification struct {
	// Signature is the digest of the signature image holding the key's
	// signature of the image.
	Signature string
	// SBOM and Provenance are attachments of the image whose own
	// signatures verify with the key; empty when it has none.
	SBOM, SBOMType string
	Provenance     string
	// The provenance's main fields, when there is a verified one.
	BuilderID, BuildType string
	BaseImageDigest      string
	ContextSHA256        string
}

// ErrUnsigned wraps an image's or attachment's failed signature check.
var ErrUnsigned = errors.New("signature not verified")

// Verify checks that repository@digest is signed by v's key and finds the
// SBOM and provenance attached to it that are signed by the same key.
// Attachments without a valid signature are not trusted and not
// reported; an image without one is an error.
func Verify(ctx context.Context, reg VerifyRegistry, repository, digest string, v signature.Verifier) (Verification, error) {
	var out Verification
	sig, err := signing.Verify(ctx, reg, repository, digest, v)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrUnsigned, err)
	}
	out.Signature = sig.SignatureImage
	refs, err := reg.Referrers(ctx, repository, digest)
	if err != nil {
		return out, err
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Digest < refs[j].Digest })
	for _, r := range refs {
		isSBOM := r.ArtifactType == MediaTypeSPDX || r.ArtifactType == MediaTypeCycloneDX
		isProvenance := r.ArtifactType == MediaTypeInToto && r.Annotations[AnnotationPredicateType] == PredicateSLSAProvenance
		if (!isSBOM || out.SBOM != "") && (!isProvenance || out.Provenance != "") {
			continue
		}
		if ok, err := reg.Exists(ctx, repository, r.Digest); err != nil || !ok {
			continue
		}
		if _, err := signing.Verify(ctx, reg, repository, r.Digest, v); err != nil {
			continue
		}
		// A listing can be written by anyone who may push: the
		// attachment itself must name this image as its subject.
		a, err := reg.Fetch(ctx, repository, r.Digest)
		if err != nil || a.Subject != digest {
			continue
		}
		if isSBOM {
			out.SBOM, out.SBOMType = r.Digest, r.ArtifactType
			continue
		}
		if err := out.readProvenance(a.Content, digest); err != nil {
			continue
		}
		out.Provenance = r.Digest
	}
	return out, nil
}

func (v *Verification) readProvenance(raw []byte, digest string) error {
	var st statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	if st.Type != StatementType || st.PredicateType != PredicateSLSAProvenance {
		return fmt.Errorf("not an SLSA v1 provenance statement")
	}
	named := false
	for _, s := range st.Subject {
		named = named || "sha256:"+s.Digest["sha256"] == digest
	}
	if !named {
		return fmt.Errorf("the statement is not about %s", digest)
	}
	v.BuilderID, v.BuildType = st.Predicate.RunDetails.Builder.ID, st.Predicate.BuildDefinition.BuildType
	for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
		switch d.Name {
		case "base":
			v.BaseImageDigest = "sha256:" + d.Digest["sha256"]
		case "context":
			v.ContextSHA256 = d.Digest["sha256"]
		}
	}
	return nil
}
