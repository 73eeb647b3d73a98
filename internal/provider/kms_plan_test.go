package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// A missing KMS plugin fails only a plan that signs: an image already
// signed plans without it (a CI plan job need not have it).
func TestKMSPluginNeededOnlyToSign(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	plan := imageResourceModel{Signing: &signingModel{KMSKey: types.StringValue("nosuchkms://key"), KeySecret: types.StringNull()}}
	plan.SignatureDigest = types.StringValue("sha256:ab12")
	var diags diag.Diagnostics
	if checkKMSPlugin(plan, &diags); diags.HasError() {
		t.Fatalf("a plan that signs nothing needs the plugin: %v", diags)
	}
	plan.SignatureDigest = types.StringUnknown()
	if checkKMSPlugin(plan, &diags); !diags.HasError() || diags[0].Summary() != "KMS Plugin Not Found" {
		t.Fatalf("a plan that signs without the plugin: %v", diags)
	}
}

// A failed attach retried with the records of the last failure records
// each signature once.
func TestAppendNewKeepsOneRecordEach(t *testing.T) {
	sig := registry.Attachment{Subject: "sha256:a", Digest: "sha256:s", Kind: kindSignature, Signature: "MEY"}
	doc := registry.Attachment{Subject: "sha256:a", Digest: "sha256:d", Kind: "sbom"}
	got := appendNew(appendNew(nil, []registry.Attachment{sig}), []registry.Attachment{sig, doc})
	if len(got) != 2 {
		t.Fatalf("records %+v, want the signature and the document once each", got)
	}
}
