package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
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
	return []resource.ConfigValidator{oneContextSource{}}
}

// oneContextSource requires exactly one of contextSources. The
// framework's resourcevalidator.ExactlyOneOf does the same by matching
// each attribute's path against the whole configuration, a walk of
// every attribute for each of the three, for every resource in every
// plan; this reads the three attributes.
type oneContextSource struct{}

func (oneContextSource) Description(context.Context) string {
	return "exactly one of " + strings.Join(contextSources, ", ") + " is set"
}

func (v oneContextSource) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (oneContextSource) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var set []string
	unknown := false
	for _, name := range contextSources {
		var v attr.Value
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(name), &v)...)
		if resp.Diagnostics.HasError() {
			return
		}
		switch {
		case v.IsUnknown():
			unknown = true // set or not, known at apply
		case !v.IsNull():
			set = append(set, name)
		}
	}
	const sources = "context_dir (a directory on this machine), context_files (files given in the configuration) or " +
		"context_url (a git repository or an archive)"
	switch {
	case len(set) > 1:
		resp.Diagnostics.AddAttributeError(path.Root(set[1]), "More Than One Build Context",
			fmt.Sprintf("%s are set, and a build reads one context.\n\nKeep exactly one of %s.", strings.Join(set, " and "), sources))
	case len(set) == 0 && !unknown:
		resp.Diagnostics.AddError("No Build Context", "The image names nothing to build from.\n\nSet exactly one of "+sources+".")
	}
}

// ModifyPlan decides what an apply will do. It never hashes the build
// context: Read records the hash of the context as
// it is now in private state, and ModifyPlan compares that with the hash
// of what was built. So the plan Terraform makes again during apply sees
// exactly what the first plan saw, even if the context changes in
// between, and the hash in state is always that of what was actually
// built.
func (r *imageResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan imageResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	proposed := plan.detached()
	if plan.Namespace.IsUnknown() && r.p != nil {
		plan.Namespace = types.StringValue(r.p.namespace)
	}
	if tags, known := listStrings(plan.Tags); known && !plan.Repository.IsUnknown() {
		plan.TaggedRefs = taggedRefs(plan.Repository.ValueString(), tags)
	} else {
		plan.TaggedRefs = types.ListUnknown(types.StringType)
	}
	// A context that cannot be built fails at plan, not halfway through
	// an apply. This only looks at paths; it reads no file content.
	if src, ok := plan.localContext(); ok {
		if err := src.Validate(); err != nil {
			addContextError(&resp.Diagnostics, src, err)
			return
		}
	}

	if plan.Executor.IsUnknown() && r.p != nil {
		plan.Executor = types.StringValue(r.p.defaultExecutor)
	}

	if req.State.Raw.IsNull() {
		// A create, or the new instance of a replacement, which
		// Terraform plans as a create with the old instance's private
		// state.
		plan.ContextSHA256 = types.StringUnknown()
		planAttachments(&plan, nil, true)
		checkKMSPlugin(plan, &resp.Diagnostics)
		r.planBuild(ctx, &plan, &resp.Diagnostics)
		if !resp.Diagnostics.HasError() {
			r.planDigest(ctx, req, &plan)
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	var state imageResourceModel
	if req.Plan.Raw.Equal(req.State.Raw) {
		// Nothing proposed: the state is the plan as it came, and
		// reading it again through the framework would cost as much.
		state = proposed.detached()
	} else {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	defer func() {
		// A new build decides the executor and base again; otherwise
		// they stay what they were.
		if len(resp.RequiresReplace) > 0 {
			// Terraform plans the new instance again as a create, where
			// its digest may be predicted (planDigest).
			planAttachments(&plan, nil, true)
			r.planBuild(ctx, &plan, &resp.Diagnostics)
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
	planBaseRebuild(ctx, plan, state, req.Private, resp)
	provenanceRefused := planAttachments(&plan, &state, readFacts(ctx, req.Private).known())
	if len(resp.RequiresReplace) == 0 {
		checkKMSPlugin(plan, &resp.Diagnostics)
	}
	if provenanceRefused && len(resp.RequiresReplace) == 0 {
		// An imported image, or one built before provenance existed:
		// what the build did is not known, and provenance would invent it.
		resp.Diagnostics.AddAttributeWarning(path.Root("provenance"), "Provenance Not Attached",
			fmt.Sprintf("%s was not built by this provider since it records what a build did (it was imported, or built by an older "+
				"version), so no provenance is attached: it would name a build nobody saw.\n\nTo attach provenance, rebuild it: "+
				"terraform apply -replace=<this resource>.", state.ImageRef.ValueString()))
	}
	setUnlessSame(ctx, &resp.Plan, proposed, plan, &resp.Diagnostics)
}

// planBuild asks the engine, with the spec the apply will build, what
// will build the image: a Dockerfile that executor = "direct" cannot
// perform is an error naming the instruction and its line; with "auto"
// it is planned for Kaniko. The Dockerfile is read, and the architecture
// check reads the headers of the files it copies; the context is not
// archived or hashed, and nothing planned depends on the files.
func (r *imageResource) planBuild(ctx context.Context, plan *imageResourceModel, diags *diag.Diagnostics) {
	plan.BaseImageDigest = types.StringUnknown()
	plan.ExecutorUsed = types.StringUnknown()
	if r.p == nil || plan.Executor.IsUnknown() {
		return // decided at apply
	}
	spec, known := plan.spec(r.p, 0)
	decided, err := planExecutor(ctx, r.p.engine(tflogLogger{ctx: ctx}), spec, known)
	if err != nil {
		addPlanError(diags, err)
		return
	}
	if decided.NotDirect != "" {
		tflog.Info(ctx, "executor auto: this Dockerfile will be built with Kaniko", map[string]any{"reason": decided.NotDirect})
	}
	if decided.Executor != "" {
		plan.ExecutorUsed = types.StringValue(decided.Executor)
	}
}

// planExecutor is the engine's plan for a spec; a spec with unknown
// values is planned at apply, except that Kaniko builds whatever the
// values turn out to be.
func planExecutor(ctx context.Context, engine build.Executor, spec build.Spec, known bool) (build.Plan, error) {
	if !known {
		if spec.Executor == build.ExecutorKaniko {
			return build.Plan{Executor: build.ExecutorKaniko}, nil
		}
		return build.Plan{}, nil
	}
	return engine.Plan(ctx, spec)
}

// addPlanError reports a spec the engine will not build.
func addPlanError(diags *diag.Diagnostics, err error) {
	var f *build.Failure
	if errors.As(err, &f) && f.Reason == build.ReasonNotEligible {
		diags.AddAttributeError(path.Root("executor"), "Dockerfile Not Eligible For A Direct Build",
			fmt.Sprintf("executor = \"direct\" builds without a pod, which only works for Dockerfiles that copy files onto a base image "+
				"and set configuration; this one does more: %s.\n\n"+
				"Use executor = \"kaniko\", or executor = \"auto\" to build directly whenever the Dockerfile allows it.\n\nOriginal error: %v", f.Message, err))
		return
	}
	addBuildError(diags, err, 0)
}

func addContextError(diags *diag.Diagnostics, src buildcontext.Source, err error) {
	var missing *buildcontext.MissingDockerfileError
	var duplicate *buildcontext.DuplicateFileError
	var outside *buildcontext.DockerfileOutsideContextError
	switch {
	case errors.As(err, &outside):
		diags.AddAttributeError(path.Root("dockerfile"), "Dockerfile Outside The Build Context",
			fmt.Sprintf("The Dockerfile %q is a symbolic link, through %q, to %q, which is outside the build context. Builds read only what "+
				"the context holds, so neither executor could read it.\n\n"+
				"Point dockerfile at a file inside the context, make the link relative to a file inside it, or copy the Dockerfile in.\n\n"+
				"Original error: %v", outside.Path, outside.Link, outside.Target, err))
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
	spec, _ := plan.spec(r.p, timeout+podDeadlineMargin)
	spec.Pin = pinOf(plan)
	started := time.Now()
	res, err := r.p.engine(tflogLogger{ctx: ctx}).Build(ctx, spec)
	finished := time.Now()
	r.takePrediction(req.Config.Raw.String())
	addBuildWarnings(&resp.Diagnostics, res)
	if err != nil {
		addBuildError(&resp.Diagnostics, err, timeout)
		if res != nil && res.Digest != "" && len(res.Tags) > 0 {
			// Something was pushed before the build failed: the state
			// tracks it (Terraform taints the resource), so destroy and
			// retention see it.
			r.recordPushed(spec, res)
			r.setBuilt(ctx, &plan, spec, res, &resp.Diagnostics)
			nullUnknownAttachments(&plan)
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		}
		return
	}
	r.recordPushed(spec, res)
	r.setBuilt(ctx, &plan, spec, res, &resp.Diagnostics)
	switch size, err := r.imageSize(ctx, spec.Repository, res); {
	case err != nil:
		addRegistryWarning(&resp.Diagnostics, r.p.registry, spec.Repository, err)
	default:
		plan.ImageSizeBytes = types.Int64Value(size)
		plan.PlatformDigests, plan.PlatformSizes = platformMaps(res.PlatformDigests, res.PlatformSizes)
	}
	facts := factsOf(spec, res, started, finished)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyBuildFacts, facts.raw())...)
	// The image is built and in state: an attachment that failed is a
	// warning, not an error that would taint it (and rebuild it); its
	// digest stays null, so the next apply attaches it in place.
	var attached diag.Diagnostics
	records := r.attach(ctx, &plan, nil, facts, nil, &attached)
	for _, d := range attached {
		if d.Severity() == diag.SeverityError {
			resp.Diagnostics.AddWarning(d.Summary(), d.Detail())
		} else {
			resp.Diagnostics.Append(d)
		}
	}
	resp.Diagnostics.Append(recordAttachments(ctx, resp.Private, records)...)
	nullUnknownAttachments(&plan)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	// What was built is what is there now, as far as this apply knows.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyCurrentContext, nil)...)
}

// recordPushed notes what a build pushed, for the destroy of the
// instance it replaces later in this apply (see Delete).
func (r *imageResource) recordPushed(spec build.Spec, res *build.Result) {
	r.p.pushed.add(spec.Repository, res.Digest, res.Tags)
	if spec.Retention != nil {
		r.p.pushed.addHistory(spec.Repository, registry.HistoryKey(spec.Repository, spec.Tags))
	}
}

// setBuilt records a build's result in the model: the image, what it
// was built from and how. The tags are those pushed, when a build
// failed after its first.
func (r *imageResource) setBuilt(ctx context.Context, plan *imageResourceModel, spec build.Spec, res *build.Result, diags *diag.Diagnostics) {
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
	plan.PlatformDigests, plan.PlatformSizes = platformMaps(res.PlatformDigests, res.PlatformSizes)
	pushed := map[string]bool{}
	for _, t := range res.Tags {
		pushed[t] = true
	}
	var tags []string
	for _, t := range spec.Tags {
		if pushed[t] {
			tags = append(tags, t)
		}
	}
	plan.TaggedRefs = taggedRefs(spec.Repository, tags)
}

// platformMaps are a multi-platform build's digests and sizes as state;
// null for an image of one platform.
func platformMaps(digests map[string]string, sizes map[string]int64) (types.Map, types.Map) {
	if len(digests) == 0 {
		return types.MapNull(types.StringType), types.MapNull(types.Int64Type)
	}
	d := map[string]attr.Value{}
	for p, v := range digests {
		d[p] = types.StringValue(v)
	}
	z := map[string]attr.Value{}
	for p, v := range sizes {
		z[p] = types.Int64Value(v)
	}
	return types.MapValueMust(types.StringType, d), types.MapValueMust(types.Int64Type, z)
}

// imageSize is the pushed image's compressed size: known to a direct
// build, asked of the registry after a Kaniko build.
// For an index, the sum of its images', each asked of the registry when
// the executor did not report them.
func (r *imageResource) imageSize(ctx context.Context, repo string, res *build.Result) (int64, error) {
	if res.ImageSize > 0 {
		return res.ImageSize, nil
	}
	if len(res.PlatformDigests) > 0 {
		sizes, total, err := r.platformSizes(ctx, repo, res.PlatformDigests)
		if err == nil {
			res.PlatformSizes = sizes
		}
		return total, err
	}
	return r.p.registry.Size(ctx, repo, res.Digest)
}

// platformSizes reads the size of each platform's image of an index; a
// missing image is registry.ErrNotFound.
func (r *imageResource) platformSizes(ctx context.Context, repo string, digests map[string]string) (map[string]int64, int64, error) {
	sizes, total := map[string]int64{}, int64(0)
	for p, d := range digests {
		size, err := r.p.registry.Size(ctx, repo, d)
		if err != nil {
			return nil, 0, fmt.Errorf("the %s image: %w", p, err)
		}
		sizes[p] = size
		total += size
	}
	return sizes, total, nil
}

func (r *imageResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state imageResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior := state.detached()
	recordReadNonce(ctx, resp)
	r.recordCurrentContext(ctx, state, resp)
	r.recordBaseNow(ctx, state, resp)
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
	if digests, _ := mapStrings(state.PlatformDigests); len(digests) > 0 {
		// An index: every platform's image must be there too.
		sizes, total, err := r.platformSizes(ctx, repo, digests)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			tflog.Warn(ctx, "an image of the index is no longer in the registry; removing it from state so the next apply rebuilds it",
				map[string]any{"image_ref": state.ImageRef.ValueString(), "error": err.Error()})
			resp.State.RemoveResource(ctx)
			return
		case err != nil:
			addRegistryWarning(&resp.Diagnostics, r.p.registry, repo, err)
			return
		}
		state.ImageSizeBytes = types.Int64Value(total)
		_, state.PlatformSizes = platformMaps(digests, sizes)
	}
	r.readAttachments(ctx, &state, readAttachmentRecords(ctx, req.Private), &resp.Diagnostics)
	tags, _ := listStrings(state.Tags)
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
	setUnlessSame(ctx, &resp.State, prior, state, &resp.Diagnostics)
}

// recordCurrentContext hashes a local context directory as it is now and
// keeps the hash in private state, where ModifyPlan compares it with the
// hash of what was built. Generated contexts (context_files,
// dockerfile_inline alone) are part of the configuration, whose changes
// replace the image directly.
func (r *imageResource) recordCurrentContext(ctx context.Context, state imageResourceModel, resp *resource.ReadResponse) {
	if r.p == nil || state.ContextDir.IsNull() || state.ContextDir.ValueString() == "" {
		return
	}
	src, _ := state.localContext()
	sum, err := r.p.contextHashes.Hash(ctx, src)
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
	plan.PlatformDigests, plan.PlatformSizes = state.PlatformDigests, state.PlatformSizes
	if plan.BuildPod.IsUnknown() {
		plan.BuildPod = types.StringNull()
	}
	if plan.Timings.IsUnknown() {
		plan.Timings = types.MapNull(types.Float64Type)
	}
	repo, digest := plan.Repository.ValueString(), plan.Digest.ValueString()
	tags, _ := listStrings(plan.Tags)
	for _, tag := range tags {
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
		if src, ok := plan.localContext(); ok {
			sum, err := r.p.contextHashes.Hash(ctx, src)
			if err != nil {
				addContextError(&resp.Diagnostics, src, err)
				return
			}
			plan.ContextSHA256 = types.StringValue(sum.SHA256)
		} else {
			plan.ContextSHA256 = types.StringValue(build.URLHash(plan.ContextURL.ValueString()))
		}
	}
	if adopting(ctx, req.Private) {
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyAdopted, nil)...)
	}
	records := r.attach(ctx, &plan, &state, readFacts(ctx, req.Private), readAttachmentRecords(ctx, req.Private), &resp.Diagnostics)
	resp.Diagnostics.Append(recordAttachments(ctx, resp.Private, records)...)
	nullUnknownAttachments(&plan)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete hands a resource's retention history over to whoever builds
// in its repository next, and with delete_on_destroy removes its image,
// but only what belongs to it alone: an image another tag points at
// (another resource, a person's "stable") keeps, losing only this
// resource's tags, and an image a replacement just pushed (the same
// digest) keeps, losing only this resource's tags the replacement did
// not push (a change of tags). A history key a build of this apply pushed (a
// create_before_destroy replacement with the same repository and tags)
// is the replacement's, and is not handed over. The history is released
// before the image is deleted, so that the release knows the image's
// build time (see registry.ReleaseHistory); the delete counts the tags
// released as this resource's own.
func (r *imageResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state imageResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	repo, digest := state.Repository.ValueString(), state.Digest.ValueString()
	tags, _ := listStrings(state.Tags)
	key := registry.HistoryKey(repo, tags)
	switch {
	case state.Retention == nil || state.Retention.KeepLast.IsNull():
	case r.p.pushed.hasHistory(repo, key):
		tflog.Info(ctx, "a build of this apply with the same repository and tags (the replacement) owns the build history; not handing it over",
			map[string]any{"repository": repo})
	default:
		if err := r.p.registry.ReleaseHistory(ctx, repo, key, digest); err != nil {
			resp.Diagnostics.AddWarning("Build History Not Released",
				fmt.Sprintf("retention is set, so this resource's history tags in %s should be handed to the next build in the repository "+
					"(which prunes them), and the registry refused or could not be reached (contacted as %s). They stay as they are.\n\n"+
					"Original error: %v", repo, r.p.registry.Address(repo), err))
		}
	}
	if !state.DeleteOnDestroy.ValueBool() || digest == "" {
		return
	}
	peerTags, peer := r.p.pushed.tagsOf(repo, digest)
	d, err := r.p.registry.DeleteOwned(ctx, repo, digest, registry.Ownership{Tags: tags, HistoryKey: key, PushedByPeer: peer, PeerTags: peerTags})
	if err != nil {
		resp.Diagnostics.AddError("Image Not Deleted From Registry",
			fmt.Sprintf("delete_on_destroy is set, so the manifest %s must be deleted, and the registry refused or could not be reached "+
				"(contacted as %s).\n\nMake the registry reachable from this machine (registry_hosts in the provider block) and allow deletes "+
				"(for the distribution registry: storage.delete.enabled), or set delete_on_destroy = false to keep the image.\n\nOriginal error: %v",
				state.ImageRef.ValueString(), r.p.registry.Address(repo), err))
		return
	}
	if len(d.KeptChildren) > 0 {
		kept := make([]string, len(d.KeptChildren))
		for i, k := range d.KeptChildren {
			kept[i] = k.Digest + " (" + k.Because + ")"
		}
		resp.Diagnostics.AddWarning("Platform Images Kept In Registry",
			fmt.Sprintf("delete_on_destroy is set, and the index %s was deleted with the platform images only it used; these images it listed "+
				"are used by something else, so they stay: %s.\n\nNothing to do: each is deleted with the last resource that uses it.",
				state.ImageRef.ValueString(), strings.Join(kept, ", ")))
	}
	if !d.Deleted && d.KeptBecause != "" {
		resp.Diagnostics.AddWarning("Image Kept In Registry", imageKeptDetail(state.ImageRef.ValueString(), d))
	}
	if d.Deleted {
		if err := r.detach(ctx, repo, readAttachmentRecords(ctx, req.Private)); err != nil {
			resp.Diagnostics.AddWarning("Attachments Not Deleted",
				fmt.Sprintf("delete_on_destroy is set, and %s was deleted; deleting its SBOM and provenance from the registry failed, so they "+
					"stay, attached to nothing.\n\nDelete them by hand if it matters, or ignore this.\n\nOriginal error: %v", state.ImageRef.ValueString(), err))
		}
	}
}

// imageKeptDetail explains a kept image: why, which of the resource's
// tags went, and which stay where the registry does not delete tags,
// with what that means for the image's last user.
func imageKeptDetail(ref string, d registry.Deletion) string {
	detail := fmt.Sprintf("delete_on_destroy is set, and %s was kept because %s", ref, d.KeptBecause)
	if len(d.Untagged) > 0 {
		detail += "; this resource's tags were removed: " + strings.Join(d.Untagged, ", ")
	}
	if len(d.Left) == 0 {
		return detail + ".\n\nNothing to do: the image is deleted with the last resource that uses it."
	}
	return detail + fmt.Sprintf(".\n\nThe registry does not delete tags, so these of this resource's tags stay, pointing at the image: %s. "+
		"While they do, they count as another user of it: the last resource that uses it keeps it on destroy, with a warning naming them. "+
		"Remove them, or point them at another image, outside Terraform to have the image deleted then.", strings.Join(d.Left, ", "))
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
