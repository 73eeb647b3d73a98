package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

var (
	_ resource.Resource                     = (*imageResource)(nil)
	_ resource.ResourceWithConfigure        = (*imageResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*imageResource)(nil)
	_ resource.ResourceWithImportState      = (*imageResource)(nil)
	_ resource.ResourceWithConfigValidators = (*imageResource)(nil)
)

type imageResource struct {
	p *providerData
}

// NewImageResource returns the onesbuild_image resource.
func NewImageResource() resource.Resource { return &imageResource{} }

func (r *imageResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_image"
}

func (r *imageResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *imageResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(contextSources...),
	}
}

// ModifyPlan decides what an apply will do. It never reads the build
// context: Read records the hash of the context as it is now in private
// state, and ModifyPlan compares that with the hash of what was built.
// So the plan Terraform makes again during apply sees exactly what the
// first plan saw, even if the context changes in between, and the hash
// in state is always that of what was actually built.
func (r *imageResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan imageResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.Namespace.IsUnknown() && r.p != nil {
		plan.Namespace = types.StringValue(r.p.namespace)
	}
	if !plan.Tags.IsUnknown() && !plan.Repository.IsUnknown() {
		plan.TaggedRefs = taggedRefs(plan.Repository.ValueString(), stringList(ctx, plan.Tags, &resp.Diagnostics))
	} else {
		plan.TaggedRefs = types.ListUnknown(types.StringType)
	}
	// A context that cannot be built fails at plan, not halfway through
	// an apply. This only looks at paths; it reads no file content.
	if plan.contextInputsKnown() {
		if src, ok := plan.contextSource(ctx, &resp.Diagnostics); ok {
			if err := src.Validate(); err != nil {
				addContextError(&resp.Diagnostics, src, err)
				return
			}
		}
	}

	if plan.Executor.IsUnknown() && r.p != nil {
		plan.Executor = types.StringValue(r.p.defaultExecutor)
	}

	if req.State.Raw.IsNull() {
		plan.ContextSHA256 = types.StringUnknown()
		r.planExecutor(ctx, &plan, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	var state imageResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer func() {
		// A new build decides the executor and base again; otherwise
		// they stay what they were.
		if len(resp.RequiresReplace) > 0 {
			r.planExecutor(ctx, &plan, &resp.Diagnostics)
			resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		}
	}()
	switch current := currentContextHash(ctx, req.Private); {
	case adopting(ctx, req.Private):
		// The first apply after an import records the hash without
		// building.
		plan.ContextSHA256 = types.StringUnknown()
	case current != "" && current != state.ContextSHA256.ValueString():
		plan.ContextSHA256 = types.StringUnknown()
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("context_sha256"))
	default:
		plan.ContextSHA256 = state.ContextSHA256
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// planExecutor decides at plan time what builds the image: a Dockerfile
// that executor = "direct" cannot perform is an error naming the
// instruction and its line; with "auto" it is planned for Kaniko.
// Only the Dockerfile is read, never the rest of the context.
func (r *imageResource) planExecutor(ctx context.Context, plan *imageResourceModel, diags *diag.Diagnostics) {
	plan.BaseImageDigest = types.StringUnknown()
	executor := plan.Executor.ValueString()
	switch {
	case plan.Executor.IsUnknown():
		plan.ExecutorUsed = types.StringUnknown()
		return
	case executor == build.ExecutorKaniko:
		plan.ExecutorUsed = types.StringValue(build.ExecutorKaniko)
		return
	}
	plan.ExecutorUsed = types.StringUnknown()
	if !plan.contextInputsKnown() || plan.BuildArgs.IsUnknown() || plan.Target.IsUnknown() {
		return // decided at apply
	}
	spec := build.Spec{ContextURL: plan.ContextURL.ValueString(), BuildArgs: stringMap(ctx, plan.BuildArgs, diags), Target: plan.Target.ValueString()}
	for range plan.BuildSecrets {
		spec.Secrets = append(spec.Secrets, build.BuildSecret{})
	}
	var dockerfile []byte
	if src, ok := plan.contextSource(ctx, diags); ok {
		var err error
		if dockerfile, err = src.DockerfileContent(); err != nil {
			addContextError(diags, src, err)
			return
		}
	}
	err := direct.Check(dockerfile, spec)
	switch {
	case err == nil && executor == build.ExecutorDirect:
		plan.ExecutorUsed = types.StringValue(build.ExecutorDirect)
	case err == nil:
		// auto: direct if the registry answers at apply time.
	case executor == build.ExecutorAuto:
		tflog.Info(ctx, "executor auto: this Dockerfile will be built with Kaniko", map[string]any{"reason": err.Error()})
		plan.ExecutorUsed = types.StringValue(build.ExecutorKaniko)
	default:
		diags.AddAttributeError(path.Root("executor"), "Dockerfile Not Eligible For A Direct Build",
			fmt.Sprintf("executor = \"direct\" builds without a pod, which only works for Dockerfiles that copy files onto a base image "+
				"and set configuration; this one does more: %v.\n\n"+
				"Use executor = \"kaniko\", or executor = \"auto\" to build directly whenever the Dockerfile allows it.\n\nOriginal error: %v", err, err))
	}
}

func addContextError(diags *diag.Diagnostics, src buildcontext.Source, err error) {
	var missing *buildcontext.MissingDockerfileError
	var duplicate *buildcontext.DuplicateFileError
	switch {
	case errors.As(err, &missing):
		at := path.Root("dockerfile")
		diags.AddAttributeError(at, "Dockerfile Not Found In Context",
			fmt.Sprintf("The build context has no file %q, so there would be nothing to build.\n\n"+
				"Add the file to the context, point dockerfile at the right path (relative to the context), or use dockerfile_inline.\n\n"+
				"Original error: %v", missing.Path, err))
	case errors.As(err, &duplicate):
		diags.AddAttributeError(path.Root("context_files"), "Duplicate Context File",
			fmt.Sprintf("context_files names the file %q twice, as %q and as %q, so which content is built would depend on map order.\n\n"+
				"Keep one of the two keys.\n\nOriginal error: %v", duplicate.Path, duplicate.Keys[0], duplicate.Keys[1], err))
	case src.Dir != "":
		diags.AddAttributeError(path.Root("context_dir"), "Build Context Not Readable",
			fmt.Sprintf("The context directory %q could not be archived.\n\n"+
				"Check that it exists and is readable by the user running Terraform; relative paths are relative to the working directory "+
				"(use path.module for a directory next to the configuration).\n\nOriginal error: %v", src.Dir, err))
	default:
		diags.AddAttributeError(path.Root("context_files"), "Invalid Build Context",
			fmt.Sprintf("The context files could not be archived.\n\nUse relative paths that stay inside the context.\n\nOriginal error: %v", err))
	}
}

func (r *imageResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan imageResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, mustDuration(defaultCreateTimeout))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = tflog.NewSubsystem(ctx, kanikoSubsystem)

	// The pod's own deadline is a backstop for a provider that dies
	// mid-build; the provider's timeout must fire first.
	spec := plan.spec(ctx, r.p, timeout+podDeadlineMargin, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	res, err := r.p.engine(tflogLogger{ctx: ctx}).Build(ctx, spec)
	addBuildWarnings(&resp.Diagnostics, res)
	if err != nil {
		addBuildError(&resp.Diagnostics, err, timeout)
		return
	}

	ref := imageref.Ref{Repository: spec.Repository, Digest: res.Digest}
	plan.Digest = types.StringValue(res.Digest)
	plan.ImageRef = types.StringValue(ref.String())
	plan.ID = plan.ImageRef
	plan.ContextSHA256 = types.StringValue(res.ContextSHA256)
	plan.BuildPod = types.StringNull()
	if res.Pod != "" {
		plan.BuildPod = types.StringValue(spec.Namespace + "/" + res.Pod)
	}
	plan.Namespace = types.StringValue(spec.Namespace)
	plan.Timings = timingsValue(res.Timings)
	plan.ExecutorUsed = types.StringValue(res.Executor)
	plan.BaseImageDigest = types.StringNull()
	if res.BaseImageDigest != "" {
		plan.BaseImageDigest = types.StringValue(res.BaseImageDigest)
	}
	plan.ImageSizeBytes = types.Int64Null()
	switch size, err := r.imageSize(ctx, spec.Repository, res); {
	case err != nil:
		addRegistryWarning(&resp.Diagnostics, r.p.registry, spec.Repository, err)
	default:
		plan.ImageSizeBytes = types.Int64Value(size)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	// What was built is what is there now, as far as this apply knows.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyCurrentContext, nil)...)
}

// imageSize is the pushed image's compressed size: known to a direct
// build, asked of the registry after a Kaniko build.
func (r *imageResource) imageSize(ctx context.Context, repo string, res *build.Result) (int64, error) {
	if res.ImageSize > 0 {
		return res.ImageSize, nil
	}
	return r.p.registry.Size(ctx, repo, res.Digest)
}

func (r *imageResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state imageResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.recordCurrentContext(ctx, state, resp)
	repo, digest := state.Repository.ValueString(), state.Digest.ValueString()
	size, err := r.p.registry.Size(ctx, repo, digest)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		tflog.Warn(ctx, "image no longer in the registry; removing it from state so the next apply rebuilds it", map[string]any{"image_ref": state.ImageRef.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	case err != nil:
		addRegistryWarning(&resp.Diagnostics, r.p.registry, repo, err)
		return
	}
	state.ImageSizeBytes = types.Int64Value(size)
	tags := stringList(ctx, state.Tags, &resp.Diagnostics)
	var kept []string
	for _, tag := range tags {
		got, err := r.p.registry.ResolveTag(ctx, repo, tag)
		switch {
		case err == nil && got == digest:
			kept = append(kept, tag)
		case err == nil || errors.Is(err, registry.ErrNotFound):
			tflog.Warn(ctx, "tag no longer points at the built image; the next apply points it back", map[string]any{"tag": tag, "now": got})
		default:
			addRegistryWarning(&resp.Diagnostics, r.p.registry, repo, err)
			kept = append(kept, tag)
		}
	}
	if state.Tags.IsNull() {
		state.TaggedRefs = types.ListValueMust(types.StringType, nil)
	} else {
		state.TaggedRefs = taggedRefs(repo, kept)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// recordCurrentContext hashes a local context directory as it is now and
// keeps the hash in private state, where ModifyPlan compares it with the
// hash of what was built. Generated contexts (context_files,
// dockerfile_inline alone) are part of the configuration, whose changes
// replace the image directly.
func (r *imageResource) recordCurrentContext(ctx context.Context, state imageResourceModel, resp *resource.ReadResponse) {
	if state.ContextDir.IsNull() || state.ContextDir.ValueString() == "" {
		return
	}
	src, _ := state.contextSource(ctx, &resp.Diagnostics)
	sum, err := src.Hash()
	if err != nil {
		// ModifyPlan reports an unreadable context with the configuration
		// at hand; a stale hash must not linger meanwhile.
		tflog.Warn(ctx, "build context not readable while refreshing", map[string]any{"context_dir": src.Dir, "error": err.Error()})
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyCurrentContext, nil)...)
		return
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyCurrentContext, []byte(strconv.Quote(sum.SHA256)))...)
}

// Update stores settings that do not change the image, and points tags
// that were moved outside Terraform back at the built image. Right after
// an import it also adopts the configuration: it points the configured
// tags at the imported digest and records the context hash, without
// building.
func (r *imageResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state imageResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID, plan.Digest, plan.ImageRef = state.ID, state.Digest, state.ImageRef
	plan.BuildPod, plan.Timings, plan.ImageSizeBytes = state.BuildPod, state.Timings, state.ImageSizeBytes
	plan.ExecutorUsed, plan.BaseImageDigest = state.ExecutorUsed, state.BaseImageDigest
	if plan.BuildPod.IsUnknown() {
		plan.BuildPod = types.StringNull()
	}
	if plan.Timings.IsUnknown() {
		plan.Timings = types.MapNull(types.Float64Type)
	}
	repo, digest := plan.Repository.ValueString(), plan.Digest.ValueString()
	for _, tag := range stringList(ctx, plan.Tags, &resp.Diagnostics) {
		if got, err := r.p.registry.ResolveTag(ctx, repo, tag); err == nil && got == digest {
			continue
		}
		tflog.Info(ctx, "pointing the tag back at the built image", map[string]any{"tag": tag, "image_ref": plan.ImageRef.ValueString()})
		if err := r.p.registry.Tag(ctx, repo, digest, tag); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("tags"), "Tag Not Pushed",
				fmt.Sprintf("Tag %q must point at %s, and tagging failed.\n\n"+
					"Make the registry reachable from this machine (see registry_hosts in the provider block), or remove the tag from the configuration.\n\n"+
					"Original error: %v", tag, plan.ImageRef.ValueString(), err))
			return
		}
	}
	if plan.ContextSHA256.IsUnknown() {
		plan.ContextSHA256 = state.ContextSHA256
		if src, ok := plan.contextSource(ctx, &resp.Diagnostics); ok {
			sum, err := src.Hash()
			if err != nil {
				addContextError(&resp.Diagnostics, src, err)
				return
			}
			plan.ContextSHA256 = types.StringValue(sum.SHA256)
		} else {
			plan.ContextSHA256 = types.StringValue(urlContextHash(plan.ContextURL.ValueString()))
		}
	}
	if adopting(ctx, req.Private) {
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyAdopted, nil)...)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *imageResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state imageResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !state.DeleteOnDestroy.ValueBool() {
		return
	}
	err := r.p.registry.Delete(ctx, state.Repository.ValueString(), state.Digest.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Image Not Deleted From Registry",
			fmt.Sprintf("delete_on_destroy is set, so the manifest %s must be deleted, and the registry refused or could not be reached "+
				"(contacted as %s).\n\nMake the registry reachable from this machine (registry_hosts in the provider block) and allow deletes "+
				"(for the distribution registry: storage.delete.enabled), or set delete_on_destroy = false to keep the image.\n\nOriginal error: %v",
				state.ImageRef.ValueString(), r.p.registry.Address(state.Repository.ValueString()), err))
	}
}

func (r *imageResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ref, err := imageref.ParseRef(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID",
			"Import an image by its reference pinned by digest, <repository>@sha256:<64 hex digits>, for example "+
				"registry.kube-system.svc.cluster.local:5000/new-image@sha256:....\n\nOriginal error: "+err.Error())
		return
	}
	for attrName, v := range map[string]string{"id": ref.String(), "image_ref": ref.String(), "repository": ref.Repository, "digest": ref.Digest} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attrName), v)...)
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyAdopted, []byte("true"))...)
}

// podDeadlineMargin is how much longer than the create timeout a build
// pod may live on the cluster.
const podDeadlineMargin = time.Minute

func mustDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}
