// Command testkms is a key management service for tests, served over
// sigstore's KMS plugin protocol: installed as sigstore-kms-testkms, the
// reference testkms://<file> signs with the unencrypted PKCS #8 ECDSA key
// in that file. The tests use it to sign through the same plugin client
// any real KMS plugin is reached by; it is never part of the provider.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/handler"
)

func main() {
	args, err := handler.GetPluginArgs(os.Args)
	if err != nil {
		_ = handler.WriteErrorResponse(os.Stdout, err)
		return
	}
	impl, err := load(args.InitOptions.KeyResourceID, args.InitOptions.HashFunc)
	if err != nil {
		_ = handler.WriteErrorResponse(os.Stdout, err)
		return
	}
	if _, err := handler.Dispatch(os.Stdout, os.Stdin, args, impl); err != nil {
		fmt.Fprintln(os.Stderr, "testkms:", err)
	}
}

// fileKey is the key in a file, as the plugin protocol's SignerVerifier.
type fileKey struct {
	*signature.ECDSASignerVerifier
}

func load(path string, hash crypto.Hash) (*fileKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("the key file is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keys of type %T are not supported", key)
	}
	sv, err := signature.LoadECDSASignerVerifier(ec, hash)
	if err != nil {
		return nil, err
	}
	return &fileKey{sv}, nil
}

func (k *fileKey) CreateKey(context.Context, string) (crypto.PublicKey, error) {
	return k.PublicKey()
}

func (k *fileKey) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return nil, nil, errors.New("not supported by testkms")
}

func (k *fileKey) SupportedAlgorithms() []string { return []string{"ecdsa-p256-sha256"} }
func (k *fileKey) DefaultAlgorithm() string      { return "ecdsa-p256-sha256" }
