package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/dockerfile"
)

// privateKeyBaseNow holds, when rebuild_on_base_change is set and Read
// found the final stage's base tag moved, the tag, the digest the build
// recorded and the digest now (JSON baseMove). Read records it, so the
// plan Terraform makes again during apply sees what the first plan saw
// even if the tag moves once more in between.
const privateKeyBaseNow = "base_now"

type baseMove struct {
	Ref      string `json:"ref"`
	Recorded string `json:"recorded"`
	Now      string `json:"now"`
}

// recordBaseNow resolves the final stage's FROM as the registry names
// it now and records a move in private state. A base the provider cannot
// read (a context URL, whose Dockerfile Kaniko fetches; FROM scratch) or
// reach is left alone: a warning in the log, no rebuild.
func (r *imageResource) recordBaseNow(ctx context.Context, state imageResourceModel, resp *resource.ReadResponse) {
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyBaseNow, nil)...)
	recorded := state.BaseImageDigest.ValueString()
	if r.p == nil || !state.RebuildOnBaseChange.ValueBool() || recorded == "" || state.BaseImageDigest.IsUnknown() {
		return
	}
	spec, known := state.spec(r.p, 0)
	if !known {
		return
	}
	content, err := spec.Context.ReadDockerfile()
	if err != nil {
		tflog.Warn(ctx, "rebuild_on_base_change: the Dockerfile cannot be read here; the base is not checked", map[string]any{"error": err.Error()})
		return
	}
	ref, ok := dockerfile.FinalBase(content, spec.BuildArgs, spec.Target)
	if !ok {
		return
	}
	now, err := r.p.registry.BaseMoved(ctx, ref, recorded, spec.Platform)
	if err != nil {
		resp.Diagnostics.AddWarning("Base Image Not Checked",
			fmt.Sprintf("rebuild_on_base_change is set, so %s should be resolved to tell whether it moved since the build, and the "+
				"registry could not be reached (contacted as %s). The image is not rebuilt for its base in this plan.\n\n"+
				"Make the registry reachable from this machine (registry_hosts in the provider block).\n\nOriginal error: %v",
				ref, r.p.registry.Address(ref), err))
		return
	}
	if !now.Moved {
		return
	}
	raw, _ := json.Marshal(baseMove{Ref: ref, Recorded: recorded, Now: now.Digest})
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyBaseNow, raw)...)
}

// planBaseRebuild replaces the image when Read found its base moved and
// the configuration still asks for it, with a warning naming both
// digests.
func planBaseRebuild(ctx context.Context, plan, state imageResourceModel, p privateGetter, resp *resource.ModifyPlanResponse) {
	if !plan.RebuildOnBaseChange.ValueBool() || p == nil {
		return
	}
	raw, _ := p.GetKey(ctx, privateKeyBaseNow)
	var move baseMove
	if len(raw) == 0 || json.Unmarshal(raw, &move) != nil || move.Recorded != state.BaseImageDigest.ValueString() {
		return
	}
	resp.RequiresReplace = append(resp.RequiresReplace, path.Root("base_image_digest"))
	resp.Diagnostics.Append(diag.NewAttributeWarningDiagnostic(path.Root("rebuild_on_base_change"), "Base Image Moved",
		fmt.Sprintf("%s pointed at %s when %s was built and points at %s now, so the image is rebuilt on the new base "+
			"(rebuild_on_base_change = true).\n\nTo keep the image on its old base, pin the base by digest in the Dockerfile or set "+
			"rebuild_on_base_change = false.", move.Ref, move.Recorded, state.ImageRef.ValueString(), move.Now)))
}
