package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/attest"
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
