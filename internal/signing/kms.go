package signing

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
)

// KMS references name a key a key management service holds, as cosign's
// --key does: <scheme>://<key>. The provider links no cloud SDK; every
// scheme is served by sigstore's KMS plugin protocol, an executable
// sigstore-kms-<scheme> on PATH, so any KMS with such a plugin (an HSM, a
// Vault, a cloud KMS reached from inside an air gap) signs without the
// key ever leaving it.

// ErrNoKMSPlugin means no plugin on PATH serves the reference's scheme.
var ErrNoKMSPlugin = errors.New("no KMS plugin for this scheme on PATH")

// KMSPluginName is the executable that serves ref's scheme.
func KMSPluginName(ref string) string {
	scheme, _, _ := strings.Cut(ref, "://")
	return "sigstore-kms-" + scheme
}

// ValidKMSReference says what is wrong with ref, or nil.
func ValidKMSReference(ref string) error {
	scheme, key, ok := strings.Cut(ref, "://")
	switch {
	case !ok:
		return fmt.Errorf("%q is not <scheme>://<key>", ref)
	case scheme == "" || strings.ContainsAny(scheme, "/\\ \t"):
		return fmt.Errorf("%q has no usable scheme before ://", ref)
	case key == "":
		return fmt.Errorf("%q names no key after ://", ref)
	}
	return nil
}

// FindKMSPlugin says, without running it, whether the plugin serving
// ref's scheme is on PATH.
func FindKMSPlugin(ref string) error {
	if err := ValidKMSReference(ref); err != nil {
		return err
	}
	if _, err := exec.LookPath(KMSPluginName(ref)); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNoKMSPlugin, KMSPluginName(ref), err)
	}
	return nil
}

// LoadKMS returns a signer whose every operation is the KMS plugin's:
// signing sends it the payload, and the public key comes from it. The
// plugin is not asked anything until the signer is used.
func LoadKMS(ctx context.Context, ref string) (signature.SignerVerifier, error) {
	if err := ValidKMSReference(ref); err != nil {
		return nil, err
	}
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	var notFound *kms.ProviderNotFoundError
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("%w: %s (%v)", ErrNoKMSPlugin, KMSPluginName(ref), err)
	}
	if err != nil {
		return nil, err
	}
	return sv, nil
}
