package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// The PEM block types of cosign's encrypted private keys, the current
// one and the one cosign wrote before.
const (
	pemSigstorePrivateKey = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemCosignPrivateKey   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// ErrWrongPassword means the key did not decrypt with the password.
var ErrWrongPassword = errors.New("the password does not decrypt the key")

// LoadPrivateKey reads a cosign private key (cosign generate-key-pair's
// cosign.key, encrypted with the password) into a signer. The error
// never holds the key or the password.
func LoadPrivateKey(keyPEM, password []byte) (signature.SignerVerifier, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("the key is not PEM")
	}
	if block.Type != pemSigstorePrivateKey && block.Type != pemCosignPrivateKey {
		return nil, fmt.Errorf("the key is a PEM %q block, not cosign's %q", block.Type, pemSigstorePrivateKey)
	}
	der, err := encrypted.Decrypt(block.Bytes, password)
	if err != nil {
		return nil, ErrWrongPassword
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("the decrypted key is not PKCS #8: %w", err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return signature.LoadECDSASignerVerifier(k, crypto.SHA256)
	case *rsa.PrivateKey:
		return signature.LoadRSAPKCS1v15SignerVerifier(k, crypto.SHA256)
	case ed25519.PrivateKey:
		// cosign signs with Ed25519ph (the prehashed variant) by default.
		return signature.LoadED25519phSignerVerifier(k)
	}
	return nil, fmt.Errorf("keys of type %T are not supported", key)
}

// EncryptPrivateKey writes key as cosign does (PKCS #8, encrypted with
// the password, in an ENCRYPTED SIGSTORE PRIVATE KEY block), for tests
// and for users who make keys without cosign.
func EncryptPrivateKey(key crypto.PrivateKey, password []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemSigstorePrivateKey, Bytes: enc}), nil
}

// LoadPublicKey reads a PEM public key (cosign.pub) into a verifier.
func LoadPublicKey(pubPEM []byte) (signature.Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	if _, ok := pub.(ed25519.PublicKey); ok {
		return signature.LoadVerifierWithOpts(pub, options.WithED25519ph())
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}

// PublicKeyPEM is a signer's public key as PEM.
func PublicKeyPEM(sv signature.SignerVerifier) ([]byte, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalPublicKeyToPEM(pub)
}
