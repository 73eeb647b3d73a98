package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestPlanAttachments(t *testing.T) {
	d1, d2 := types.StringValue("sha256:1"), types.StringValue("sha256:2")
	spdx, cdx := &sbomModel{Format: types.StringNull()}, &sbomModel{Format: types.StringValue("cyclonedx-json")}
	min, max := &provenanceModel{Mode: types.StringNull()}, &provenanceModel{Mode: types.StringValue("max")}
	cases := []struct {
		name             string
		plan, state      imageResourceModel
		noState, noFacts bool
		sbom, provenance types.String
		signature        types.String
	}{
		{name: "none asked", plan: imageResourceModel{}, noState: true, sbom: types.StringNull(), provenance: types.StringNull()},
		{name: "a new image", plan: imageResourceModel{SBOM: spdx, Provenance: min}, noState: true, sbom: types.StringUnknown(), provenance: types.StringUnknown()},
		{name: "unchanged", plan: imageResourceModel{SBOM: spdx, Provenance: min},
			state: imageResourceModel{SBOM: &sbomModel{Format: types.StringValue("spdx-json")}, Provenance: min, SBOMDigest: d1, ProvenanceDigest: d2},
			sbom:  d1, provenance: d2},
		{name: "format changed", plan: imageResourceModel{SBOM: cdx, Provenance: min},
			state: imageResourceModel{SBOM: spdx, Provenance: min, SBOMDigest: d1, ProvenanceDigest: d2},
			sbom:  types.StringUnknown(), provenance: d2},
		{name: "mode changed", plan: imageResourceModel{SBOM: spdx, Provenance: max},
			state: imageResourceModel{SBOM: spdx, Provenance: min, SBOMDigest: d1, ProvenanceDigest: d2},
			sbom:  d1, provenance: types.StringUnknown()},
		{name: "deleted out of band", plan: imageResourceModel{SBOM: spdx, Provenance: min},
			state: imageResourceModel{SBOM: spdx, Provenance: min, SBOMDigest: types.StringNull(), ProvenanceDigest: d2},
			sbom:  types.StringUnknown(), provenance: d2},
		{name: "an imported image gets no provenance", plan: imageResourceModel{SBOM: spdx, Provenance: min},
			state: imageResourceModel{SBOMDigest: types.StringNull(), ProvenanceDigest: types.StringNull()}, noFacts: true,
			sbom: types.StringUnknown(), provenance: types.StringNull()},
		{name: "an unknown key secret signs", plan: imageResourceModel{Signing: &signingModel{KeySecret: types.StringUnknown()}}, noState: true,
			sbom: types.StringNull(), provenance: types.StringNull(), signature: types.StringUnknown()},
		{name: "an unknown format writes again", plan: imageResourceModel{SBOM: &sbomModel{Format: types.StringUnknown()}},
			state: imageResourceModel{SBOM: spdx, SBOMDigest: d1}, sbom: types.StringUnknown(), provenance: types.StringNull()},
		{name: "block removed", plan: imageResourceModel{Provenance: min},
			state: imageResourceModel{SBOM: spdx, Provenance: min, SBOMDigest: d1, ProvenanceDigest: d2},
			sbom:  types.StringNull(), provenance: d2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := c.plan
			var state *imageResourceModel
			if !c.noState {
				state = &c.state
			}
			refused := planAttachments(&plan, state, !c.noFacts)
			if refused != c.noFacts {
				t.Errorf("provenance refused %v, want %v", refused, c.noFacts)
			}
			if !c.signature.IsNull() && !plan.SignatureDigest.Equal(c.signature) {
				t.Errorf("planned signature %v, want %v", plan.SignatureDigest, c.signature)
			}
			if !plan.SBOMDigest.Equal(c.sbom) || !plan.ProvenanceDigest.Equal(c.provenance) {
				t.Errorf("planned sbom %v provenance %v, want %v %v", plan.SBOMDigest, plan.ProvenanceDigest, c.sbom, c.provenance)
			}
		})
	}
}
