package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestImageResource_attachmentsInPlace drives the CLI against the fake
// cluster and the in-memory registry (no referrers API): adding the
// blocks is an in-place update that keeps the digest, removing them
// detaches in place, and a signing block without key_secret is a plan
// error.
func TestImageResource_attachmentsInPlace(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\n")
	config := func(blocks string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = "%[1]s/attached"
  context_dir = %[2]q
  executor    = "direct"
  %[3]s
}
`, clusterRegistry, dir, blocks)
	}
	same := statecheck.CompareValue(compare.ValuesSame())
	inPlace := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionUpdate)}}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config(""), ConfigStateChecks: []statecheck.StateCheck{same.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest"))}},
			{
				Config:      config("signing {}"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`key_secret`),
			},
			{
				Config:           config("sbom {\n    format = \"cyclonedx-json\"\n  }\n  provenance {}"),
				ConfigPlanChecks: inPlace,
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest")),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("sbom_digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("provenance_digest"), knownvalue.StringRegexp(digestPattern)),
				},
			},
			{Config: config("sbom {\n    format = \"cyclonedx-json\"\n  }\n  provenance {}"), PlanOnly: true},
			{
				Config:           config(""),
				ConfigPlanChecks: inPlace,
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue("onesbuild_image.app", tfjsonpath.New("digest")),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("sbom_digest"), knownvalue.Null()),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("provenance_digest"), knownvalue.Null()),
				},
			},
		},
	})
}

// TestImageResource_failedSigningIsAWarning builds with a signing Secret
// that does not exist: the apply succeeds with a warning and the image is
// kept untainted, so the next plan signs in place instead of rebuilding.
func TestImageResource_failedSigningIsAWarning(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\n")
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = "%[1]s/unsigned"
  context_dir = %[2]q
  executor    = "direct"
  signing {
    key_secret = "no-such-secret"
  }
}
`, clusterRegistry, dir)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("digest"), knownvalue.StringRegexp(digestPattern)),
					statecheck.ExpectKnownValue("onesbuild_image.app", tfjsonpath.New("signature_digest"), knownvalue.Null()),
				},
				// The signature is still owed: the plan after the apply signs
				// in place; the image was not tainted.
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionUpdate),
				}},
				ExpectNonEmptyPlan: true,
			},
		},
	})
}
