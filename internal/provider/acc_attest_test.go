package provider

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/attest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing/kmstest"
)

// attachmentsOf reads the image's referrers from the registry, by
// artifact type.
func attachmentsOf(ctx context.Context, a *accEnv, repo, digest string) (map[string][]string, error) {
	refs, err := a.reg.Referrers(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, r := range refs {
		out[r.ArtifactType] = append(out[r.ArtifactType], r.Digest)
	}
	return out, nil
}

// checkSPDX fetches the SBOM and checks that it validates, lists the
// study's binary with its hash, and names the base by digest.
func checkSPDX(ctx context.Context, a *accEnv, s *terraform.State, name, binary string) error {
	repo, sbom := stateAttr(s, name, "repository"), stateAttr(s, name, "sbom_digest")
	art, err := a.reg.Fetch(ctx, repo, sbom)
	if err != nil {
		return err
	}
	doc, err := spdxjson.Read(bytes.NewReader(art.Content))
	if err != nil {
		return err
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		return fmt.Errorf("the SBOM does not validate: %w", err)
	}
	raw, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	want := hex.EncodeToString(sum[:])
	found := false
	for _, f := range doc.Files {
		for _, c := range f.Checksums {
			if f.FileName == "./usr/local/app/main" && c.Algorithm == "SHA256" {
				found = c.Value == want
			}
		}
	}
	if !found {
		return fmt.Errorf("the SBOM does not list /usr/local/app/main with sha256 %s (%d files)", want, len(doc.Files))
	}
	base := stateAttr(s, name, "base_image_digest")
	for _, p := range doc.Packages {
		if p.PackageVersion == base && p.PrimaryPackagePurpose == "CONTAINER" && p.PackageSPDXIdentifier == "Base" {
			return nil
		}
	}
	return fmt.Errorf("the SBOM does not name the base at %s", base)
}

// checkProvenance fetches the provenance and checks what it resolved.
func checkProvenance(ctx context.Context, a *accEnv, s *terraform.State, name string) (map[string]string, error) {
	repo, prov := stateAttr(s, name, "repository"), stateAttr(s, name, "provenance_digest")
	art, err := a.reg.Fetch(ctx, repo, prov)
	if err != nil {
		return nil, err
	}
	var st struct {
		Type      string `json:"_type"`
		Predicate struct {
			BuildDefinition struct {
				ResolvedDependencies []struct {
					Name   string            `json:"name"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(art.Content, &st); err != nil {
		return nil, err
	}
	deps := map[string]string{}
	for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
		deps[d.Name] = "sha256:" + d.Digest["sha256"]
	}
	if deps["base"] != stateAttr(s, name, "base_image_digest") {
		return deps, fmt.Errorf("provenance base %s, state %s", deps["base"], stateAttr(s, name, "base_image_digest"))
	}
	if deps["context"] != "sha256:"+stateAttr(s, name, "context_sha256") {
		return deps, fmt.Errorf("provenance context %s, state context_sha256 %s", deps["context"], stateAttr(s, name, "context_sha256"))
	}
	return deps, nil
}

// TestAccImageResource_attachments attaches an SBOM and provenance to a
// direct build in place (the image's digest unchanged), finds both
// through the referrers fallback of the harness's registry, attaches a
// deleted SBOM again in place with the same digest, and changes the
// format in place.
func TestAccImageResource_attachments(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	dir := studyContext(t)
	repo := uniqueRepo(a, "attest")
	const name = "onesbuild_image.app"
	config := func(blocks string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  context_dir       = %q
  executor          = "direct"
  delete_on_destroy = true
  %s
}
`, repo, dir, blocks)
	}
	withBoth := "sbom {}\n  provenance {}"
	var sbomDigest string
	same := statecheck.CompareValue(compare.ValuesSame())
	sameSBOM := statecheck.CompareValue(compare.ValuesSame())
	inPlace := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(name, plancheck.ResourceActionUpdate)}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue(name, tfjsonpath.New("digest")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("sbom_digest"), knownvalue.Null()),
				},
			},
			{
				Config:           config(withBoth),
				ConfigPlanChecks: inPlace,
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue(name, tfjsonpath.New("digest")),
					sameSBOM.AddStateValue(name, tfjsonpath.New("sbom_digest")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("sbom_digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("provenance_digest"), knownvalue.StringRegexp(digestPattern)),
				},
				Check: func(s *terraform.State) error {
					sbomDigest = stateAttr(s, name, "sbom_digest")
					got, err := attachmentsOf(ctx, a, repo, stateAttr(s, name, "digest"))
					if err != nil {
						return err
					}
					if len(got[attest.MediaTypeSPDX]) != 1 || got[attest.MediaTypeSPDX][0] != stateAttr(s, name, "sbom_digest") ||
						len(got[attest.MediaTypeInToto]) != 1 || got[attest.MediaTypeInToto][0] != stateAttr(s, name, "provenance_digest") {
						return fmt.Errorf("referrers %v do not match state", got)
					}
					if err := checkSPDX(ctx, a, s, name, filepath.Join(dir, "main")); err != nil {
						return err
					}
					_, err = checkProvenance(ctx, a, s, name)
					return err
				},
			},
			{
				// Deleted out of band: attached again in place, the same
				// document, so the same digest.
				PreConfig: func() {
					if err := a.reg.Delete(ctx, repo, sbomDigest); err != nil {
						t.Fatal(err)
					}
				},
				Config:           config(withBoth),
				ConfigPlanChecks: inPlace,
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue(name, tfjsonpath.New("digest")),
					sameSBOM.AddStateValue(name, tfjsonpath.New("sbom_digest")),
				},
				Check: func(s *terraform.State) error {
					ok, err := a.reg.Exists(ctx, repo, stateAttr(s, name, "sbom_digest"))
					if err != nil || !ok {
						return fmt.Errorf("the SBOM was not attached again (exists %v, %v)", ok, err)
					}
					return nil
				},
			},
			{
				Config:           config("sbom {\n    format = \"cyclonedx-json\"\n  }\n  provenance {}"),
				ConfigPlanChecks: inPlace,
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue(name, tfjsonpath.New("digest")),
				},
				Check: func(s *terraform.State) error {
					art, err := a.reg.Fetch(ctx, repo, stateAttr(s, name, "sbom_digest"))
					if err != nil {
						return err
					}
					if art.ArtifactType != attest.MediaTypeCycloneDX || !bytes.Contains(art.Content, []byte("/usr/local/app/main")) {
						return fmt.Errorf("the new SBOM is %s and lists no binary", art.ArtifactType)
					}
					return nil
				},
			},
			{
				Config:   config("sbom {\n    format = \"cyclonedx-json\"\n  }\n  provenance {}"),
				PlanOnly: true, // nothing left to do
			},
		},
	})
}

// TestAccImageResource_kanikoAttachments attaches both documents to a
// Kaniko build: the SBOM read back from the pushed image lists what the
// pod copied, and the provenance names the executor image's digest.
func TestAccImageResource_kanikoAttachments(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	dir := studyContext(t)
	repo := uniqueRepo(a, "attest-kaniko")
	const name = "onesbuild_image.app"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  context_dir       = %q
  executor          = "kaniko"
  delete_on_destroy = true
  sbom {}
  provenance {
    mode = "max"
  }
}
`, repo, dir),
			Check: func(s *terraform.State) error {
				if err := checkSPDX(ctx, a, s, name, filepath.Join(dir, "main")); err != nil {
					return err
				}
				deps, err := checkProvenance(ctx, a, s, name)
				if err != nil {
					return err
				}
				if !digestPattern.MatchString(deps["executor"]) {
					return fmt.Errorf("the provenance names no executor image digest: %v", deps)
				}
				return nil
			},
		}},
	})
}

// signingSecret makes a cosign key pair, stores the private key and its
// password in a Secret of the build namespace as cosign generate-key-pair
// k8s://... does, and returns the public key's PEM and the secrets'
// values for the leak check.
func signingSecret(t *testing.T, a *accEnv, name string) (pubPEM string, secrets []string) {
	t.Helper()
	ctx := context.Background()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	password := fmt.Sprintf("pw-%d", time.Now().UnixNano())
	keyPEM, err := signing.EncryptPrivateKey(k, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signing.LoadPrivateKey(keyPEM, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.PublicKeyPEM(sv)
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Data: map[string][]byte{"cosign.key": keyPEM, "cosign.password": []byte(password), "cosign.pub": pub}}
	if _, err := a.client.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.client.CoreV1().Secrets("default").Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	// What must never appear: the password, and the key's encrypted body.
	body := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")
	return string(pub), []string{password, body[1], body[len(body)-2]}
}

// TestAccImageResource_signedAndVerified signs an image and its
// attachments with a key from a Secret, verifies them with the data
// source, refuses another key, and finds nothing of the key in state.
func TestAccImageResource_signedAndVerified(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	dir := studyContext(t)
	repo := uniqueRepo(a, "signed")
	secretName := fmt.Sprintf("image-signing-%d", time.Now().UnixNano()%1_000_000)
	pub, secrets := signingSecret(t, a, secretName)
	otherPub, _ := signingSecret(t, a, secretName+"-other")
	var imageDigest string
	pubFile := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pubFile, []byte(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other.pub")
	if err := os.WriteFile(otherFile, []byte(otherPub), 0o644); err != nil {
		t.Fatal(err)
	}
	image := fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  context_dir       = %q
  executor          = "direct"
  delete_on_destroy = true
  sbom {}
  provenance {}
  signing {
    key_secret = %q
  }
}
`, repo, dir, secretName)
	verify := func(keyFile string) string {
		return fmt.Sprintf(`
data "onesbuild_image_verification" "app" {
  image_ref          = onesbuild_image.app.image_ref
  public_key         = file(%q)
  require_sbom       = true
  require_provenance = true
}
`, keyFile)
	}
	noLeak := func(s *terraform.State) error {
		for addr, r := range s.RootModule().Resources {
			for k, v := range r.Primary.Attributes {
				for _, secret := range secrets {
					if strings.Contains(v, secret) {
						return fmt.Errorf("%s.%s holds the signing key or its password", addr, k)
					}
				}
			}
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: a.providerBlock() + image + verify(pubFile),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("signature_digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.CompareValuePairs("onesbuild_image.app", tfjsonpath.New("sbom_digest"),
						"data.onesbuild_image_verification.app", tfjsonpath.New("sbom_digest"), compare.ValuesSame()),
					statecheck.CompareValuePairs("onesbuild_image.app", tfjsonpath.New("provenance_digest"),
						"data.onesbuild_image_verification.app", tfjsonpath.New("provenance_digest"), compare.ValuesSame()),
					statecheck.CompareValuePairs("onesbuild_image.app", tfjsonpath.New("base_image_digest"),
						"data.onesbuild_image_verification.app", tfjsonpath.New("base_image_digest"), compare.ValuesSame()),
					statecheck.CompareValuePairs("onesbuild_image.app", tfjsonpath.New("context_sha256"),
						"data.onesbuild_image_verification.app", tfjsonpath.New("context_sha256"), compare.ValuesSame()),
				},
				Check: func(s *terraform.State) error {
					imageDigest = stateAttr(s, "onesbuild_image.app", "digest")
					if err := noLeak(s); err != nil {
						return err
					}
					return cosignVerify(ctx, t, a, stateAttr(s, "onesbuild_image.app", "image_ref"), pubFile)
				},
			},
			{
				Config:      a.providerBlock() + image + verify(otherFile),
				ExpectError: regexp.MustCompile(`Image Not Verified`),
			},
			{
				// Deleted out of band: signed again in place, without a build.
				PreConfig: func() {
					if err := a.reg.Delete(ctx, repo, signatureOf(t, a, repo, imageDigest)); err != nil {
						t.Fatal(err)
					}
				},
				Config: a.providerBlock() + image + verify(pubFile),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionUpdate)}},
				Check: noLeak,
			},
		},
	})
}

// signatureOf is the digest of the signature image of repo@digest.
func signatureOf(t *testing.T, a *accEnv, repo, digest string) string {
	t.Helper()
	d, err := a.reg.ResolveTag(context.Background(), repo, strings.Replace(digest, ":", "-", 1)+".sig")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// cosignVerify checks the image's signature with the cosign CLI the
// harness built, as a user outside Terraform would: by key, without a
// transparency log, over plain HTTP to the harness's registry.
func cosignVerify(ctx context.Context, t *testing.T, a *accEnv, imageRef, pubFile string) error {
	t.Helper()
	if a.env.Cosign == "" {
		return fmt.Errorf("the harness did not build cosign: bring the cluster up with ONESBUILD_TEST_TOOLS=cosign (make testacc does)")
	}
	hostRef := a.env.HostRegistry + strings.TrimPrefix(imageRef, a.env.ClusterRegistry)
	run := func(ref string) (string, error) {
		c := exec.CommandContext(ctx, a.env.Cosign, "verify", "--key", pubFile, "--insecure-ignore-tlog", "--allow-insecure-registry",
			"--allow-http-registry", "--output", "json", ref)
		c.Env = append(os.Environ(), "COSIGN_EXPERIMENTAL=0", "TUF_ROOT="+t.TempDir())
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := run(hostRef)
	if err != nil {
		return fmt.Errorf("cosign verify rejected the provider's signature of %s: %v\n%s", hostRef, err, out)
	}
	if !strings.Contains(out, strings.SplitN(imageRef, "@", 2)[1]) {
		return fmt.Errorf("cosign verify printed no payload naming the digest:\n%s", out)
	}
	t.Logf("cosign verify accepted %s", hostRef)
	return nil
}

// TestAccImageVerification_signedByCosign verifies an image the provider
// did not sign: cosign generates the key pair and signs, the data source
// checks it, and refuses it for the provider's own key.
func TestAccImageVerification_signedByCosign(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	if a.env.Cosign == "" {
		t.Fatal("the harness did not build cosign: bring the cluster up with ONESBUILD_TEST_TOOLS=cosign (make testacc does)")
	}
	dir := studyContext(t)
	repo := uniqueRepo(a, "cosign-signed")
	keys := t.TempDir()
	gen := exec.CommandContext(ctx, a.env.Cosign, "generate-key-pair")
	gen.Dir, gen.Env = keys, append(os.Environ(), "COSIGN_PASSWORD=test-password")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	otherPub, _ := signingSecret(t, a, fmt.Sprintf("unused-%d", time.Now().UnixNano()%1_000_000))
	otherFile := filepath.Join(t.TempDir(), "other.pub")
	if err := os.WriteFile(otherFile, []byte(otherPub), 0o644); err != nil {
		t.Fatal(err)
	}
	image := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  context_dir       = %q
  executor          = "direct"
  delete_on_destroy = true
}
`, repo, dir)
	verify := func(keyFile string) string {
		return fmt.Sprintf(`
data "onesbuild_image_verification" "app" {
  image_ref  = onesbuild_image.app.image_ref
  public_key = file(%q)
}
`, keyFile)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: image,
				Check: func(s *terraform.State) error {
					ref := a.env.HostRegistry + strings.TrimPrefix(stateAttr(s, "onesbuild_image.app", "image_ref"), a.env.ClusterRegistry)
					sign := exec.CommandContext(ctx, a.env.Cosign, "sign", "--key", filepath.Join(keys, "cosign.key"), "--tlog-upload=false",
						"--allow-insecure-registry", "--allow-http-registry", "--yes", ref)
					sign.Env = append(os.Environ(), "COSIGN_PASSWORD=test-password", "TUF_ROOT="+t.TempDir())
					if out, err := sign.CombinedOutput(); err != nil {
						return fmt.Errorf("cosign sign: %v\n%s", err, out)
					}
					return nil
				},
			},
			{
				Config: image + verify(filepath.Join(keys, "cosign.pub")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.onesbuild_image_verification.app", tfjsonpath.New("signature_digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.ExpectKnownValue("data.onesbuild_image_verification.app", tfjsonpath.New("sbom_digest"), knownvalue.Null()),
				},
			},
			{
				Config:      image + verify(otherFile),
				ExpectError: regexp.MustCompile(`Image Not Verified`),
			},
		},
	})
}

// A KMS key signs through sigstore's plugin protocol: here the test KMS,
// installed as sigstore-kms-testkms. The signature verifies with the
// KMS's public key in the cosign CLI and in the data source (given the
// KMS reference or the PEM), and not with another key; a changed key
// signs again in place, and the old key's signature goes.
func TestAccImageResource_signedWithKMS(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	kmstest.Install(t)
	dir := studyContext(t)
	repo := uniqueRepo(a, "kms-signed")
	ref, pub := kmstest.NewKey(t)
	otherRef, otherPub := kmstest.NewKey(t)
	pubFile := filepath.Join(t.TempDir(), "kms.pub")
	otherFile := filepath.Join(t.TempDir(), "other-kms.pub")
	for file, pem := range map[string][]byte{pubFile: pub, otherFile: otherPub} {
		if err := os.WriteFile(file, pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := func(signWith, verifyWith, pemFile string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  context_dir       = %q
  executor          = "direct"
  delete_on_destroy = true
  sbom {}
  signing {
    kms_key = %q
  }
}

data "onesbuild_image_verification" "by_kms" {
  image_ref    = onesbuild_image.app.image_ref
  kms_key      = %q
  require_sbom = true
}

data "onesbuild_image_verification" "by_pem" {
  image_ref  = onesbuild_image.app.image_ref
  public_key = file(%q)
}
`, repo, dir, signWith, verifyWith, pemFile)
	}
	var digest, signature string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config(ref, ref, pubFile),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("signature_digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.CompareValuePairs("onesbuild_image.app", tfjsonpath.New("signature_digest"),
						"data.onesbuild_image_verification.by_kms", tfjsonpath.New("signature_digest"), compare.ValuesSame()),
					statecheck.CompareValuePairs("onesbuild_image.app", tfjsonpath.New("sbom_digest"),
						"data.onesbuild_image_verification.by_kms", tfjsonpath.New("sbom_digest"), compare.ValuesSame()),
					statecheck.CompareValuePairs("onesbuild_image.app", tfjsonpath.New("signature_digest"),
						"data.onesbuild_image_verification.by_pem", tfjsonpath.New("signature_digest"), compare.ValuesSame()),
				},
				Check: func(s *terraform.State) error {
					digest = stateAttr(s, "onesbuild_image.app", "digest")
					signature = stateAttr(s, "onesbuild_image.app", "signature_digest")
					return cosignVerify(ctx, t, a, stateAttr(s, "onesbuild_image.app", "image_ref"), pubFile)
				},
			},
			{
				// Another KMS key does not verify what the first signed.
				Config:      config(ref, otherRef, pubFile),
				ExpectError: regexp.MustCompile(`Image Not Verified`),
			},
			{
				// Signing with the other key is an update in place: same
				// image, a new signature image.
				Config: config(otherRef, otherRef, otherFile),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionUpdate)}},
				Check: func(s *terraform.State) error {
					if got := stateAttr(s, "onesbuild_image.app", "digest"); got != digest {
						return fmt.Errorf("a new key rebuilt the image: %s, was %s", got, digest)
					}
					if got := stateAttr(s, "onesbuild_image.app", "signature_digest"); got == signature {
						return fmt.Errorf("the signature image did not change with the key: %s", got)
					}
					return cosignVerify(ctx, t, a, stateAttr(s, "onesbuild_image.app", "image_ref"), otherFile)
				},
			},
			{
				// The first key's signature went with the change of key.
				Config:      config(otherRef, otherRef, pubFile),
				ExpectError: regexp.MustCompile(`Image Not Verified`),
			},
		},
	})
}

// A KMS whose plugin is not installed is a plan error that names the
// plugin to install, before anything is built.
func TestAccImageResource_kmsWithoutPlugin(t *testing.T) {
	a := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = %q
  context_dir = %q
  executor    = "direct"
  signing {
    kms_key = "nosuchkms://signing-key"
  }
}
`, uniqueRepo(a, "kms-missing"), studyContext(t)),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)KMS Plugin Not Found.*sigstore-kms-nosuchkms`),
		}},
	})
}
