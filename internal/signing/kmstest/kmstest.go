// Package kmstest gives tests a key management service reached the way
// the provider reaches any: the testkms command, built and put on PATH as
// the sigstore KMS plugin sigstore-kms-testkms, with keys in files.
package kmstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	pluginDir string
	buildErr  error
	buildOut  []byte
)

// Install builds the plugin (once per test binary) and puts its directory
// first on PATH for the rest of the test.
func Install(t testing.TB) {
	t.Helper()
	buildOnce.Do(func() {
		pluginDir, buildErr = os.MkdirTemp("", "onesbuild-kms-plugin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "sigstore-kms-testkms"),
			"github.com/onesbuild/terraform-provider-onesbuild/internal/signing/testkms")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building the test KMS plugin: %v\n%s", buildErr, buildOut)
	}
	t.Setenv("PATH", pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// NewKey makes a P-256 key held by the test KMS and returns its
// reference (testkms://<file>) and its public key as PEM.
func NewKey(t testing.TB) (ref string, publicPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "kms-key.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return "testkms://" + file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
}
