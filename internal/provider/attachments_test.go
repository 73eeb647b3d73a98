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
		noState          bool
		sbom, provenance types.String
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
			planAttachments(&plan, state)
			if !plan.SBOMDigest.Equal(c.sbom) || !plan.ProvenanceDigest.Equal(c.provenance) {
				t.Errorf("planned sbom %v provenance %v, want %v %v", plan.SBOMDigest, plan.ProvenanceDigest, c.sbom, c.provenance)
			}
		})
	}
}
