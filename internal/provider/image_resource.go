package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
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
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(contextSources...),
	}
}

// ModifyPlan computes the context hash and the tagged references, and
// decides on replacement when the context or the tags drifted.
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

	var tags []string
	if !plan.Tags.IsUnknown() && !plan.Repository.IsUnknown() {
		tags = stringList(ctx, plan.Tags, &resp.Diagnostics)
		plan.TaggedRefs = taggedRefs(plan.Repository.ValueString(), tags)
	} else {
		plan.TaggedRefs = types.ListUnknown(types.StringType)
	}

	plan.ContextSHA256 = types.StringUnknown()
	if plan.contextInputsKnown() {
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

	if !req.State.Raw.IsNull() {
		var state imageResourceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if !adopting(ctx, req.Private) {
			if !plan.ContextSHA256.Equal(state.ContextSHA256) {
				resp.RequiresReplace = append(resp.RequiresReplace, path.Root("context_sha256"))
			}
			if !plan.TaggedRefs.Equal(state.TaggedRefs) {
				resp.RequiresReplace = append(resp.RequiresReplace, path.Root("tagged_refs"))
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func addContextError(diags *diag.Diagnostics, src buildcontext.Source, err error) {
	var missing *buildcontext.MissingDockerfileError
	switch {
	case errors.As(err, &missing):
		at := path.Root("dockerfile")
		diags.AddAttributeError(at, "Dockerfile Not Found In Context",
			fmt.Sprintf("The build context has no file %q, so Kaniko would have nothing to build.\n\n"+
				"Add the file to the context, point dockerfile at the right path (relative to the context), or use dockerfile_inline.\n\n"+
				"Original error: %v", missing.Path, err))
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
	breq := plan.request(ctx, r.p, timeout+podDeadlineMargin, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if src, ok := plan.contextSource(ctx, &resp.Diagnostics); ok {
		planned := plan.ContextSHA256.ValueString()
		breq.Dockerfile = src.Dockerfile()
		breq.WriteContext = func(w io.Writer) error {
			_, err := src.WriteGzip(w, func(sum buildcontext.Summary) error {
				if sum.SHA256 != planned {
					return fmt.Errorf("the build context changed between plan and apply (planned %s, now %s)", planned, sum.SHA256)
				}
				tflog.Debug(ctx, "build context archived", map[string]any{"files": sum.Files, "bytes": sum.Bytes, "sha256": sum.SHA256})
				return nil
			})
			return err
		}
	}

	started := time.Now()
	breq.Labels = historyLabels(plan, r.p.version, started, breq.Labels)
	var historyKey string
	if plan.Retention != nil && !plan.Retention.KeepLast.IsNull() {
		historyKey = registry.HistoryKey(breq.Repository, breq.Tags)
		breq.Tags = append(append([]string(nil), breq.Tags...), registry.HistoryTag(historyKey, started))
	}

	client, attacher, err := r.p.cluster.Clients()
	if err != nil {
		resp.Diagnostics.AddError("Kubernetes Cluster Not Configured",
			"The provider could not connect to a Kubernetes cluster to run the build.\n\n"+
				"Set config_path (or KUBE_CONFIG_PATH/KUBECONFIG) and optionally config_context, or host with token or client certificates, "+
				"in the provider \"onesbuild\" block.\n\nOriginal error: "+err.Error())
		return
	}

	release, queued, err := r.p.queue.Acquire(ctx, func() {
		tflog.Info(ctx, "build queued: all build slots are busy", map[string]any{"max_concurrent_builds": r.p.queue.Limit(), "repository": breq.Repository})
	})
	defer release()
	if err != nil {
		resp.Diagnostics.AddError("Image Build Timed Out",
			fmt.Sprintf("The build waited %s for a free build slot (max_concurrent_builds = %d) and its create timeout of %s ran out before it could start.\n\n"+
				"Raise max_concurrent_builds in the provider block or timeouts.create on the resource.\n\nOriginal error: %v",
				queued.Round(time.Second), r.p.queue.Limit(), timeout, err))
		return
	}
	if queued > 0 {
		tflog.Info(ctx, "build slot acquired", map[string]any{"queued_seconds": queued.Seconds()})
	}

	builder := &build.Builder{Client: client, Attacher: attacher, Log: tflogLogger{ctx: ctx}, PodRetries: 1}
	res, err := builder.Build(ctx, breq)
	for _, w := range res.Warnings {
		resp.Diagnostics.AddWarning("Build Pod Not Cleaned Up", w+"\n\nDelete it with kubectl; it does not affect the image.")
	}
	if err != nil {
		addBuildError(&resp.Diagnostics, err, timeout)
		return
	}

	ref := imageref.Ref{Repository: breq.Repository, Digest: res.Digest}
	plan.Digest = types.StringValue(res.Digest)
	plan.ImageRef = types.StringValue(ref.String())
	plan.ID = plan.ImageRef
	plan.BuildPod = types.StringValue(breq.Namespace + "/" + res.Pod)
	plan.Namespace = types.StringValue(breq.Namespace)
	plan.Timings = timingsValue(res.Timings, queued)
	plan.ImageSizeBytes = types.Int64Null()
	if img, err := r.p.registry.Describe(ctx, breq.Repository, res.Digest); err != nil {
		addRegistryWarning(&resp.Diagnostics, r.p.registry, breq.Repository, err)
	} else {
		plan.ImageSizeBytes = types.Int64Value(img.Size)
	}
	if historyKey != "" {
		r.prune(ctx, plan, historyKey, res.Digest, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// prune applies the retention block after a successful build. Failing to
// prune never fails the build.
func (r *imageResource) prune(ctx context.Context, plan imageResourceModel, key, digest string, diags *diag.Diagnostics) {
	repo := plan.Repository.ValueString()
	dryRun := plan.Retention.DryRun.ValueBool()
	keep := int(plan.Retention.KeepLast.ValueInt64())
	pruned, err := r.p.registry.PruneHistory(ctx, repo, key, keep, []string{digest}, dryRun, func(p registry.Pruned) {
		msg := "retention: deleting an old build"
		if dryRun {
			msg = "retention (dry run): would delete an old build"
		}
		tflog.Info(ctx, msg, map[string]any{"repository": repo, "history_tag": p.Tag, "digest": p.Digest, "keep_last": keep})
	})
	if err != nil {
		diags.AddWarning("Old Builds Not Pruned",
			fmt.Sprintf("The image was built, but retention (keep_last = %d) could not clean up older builds of %s (contacted as %s).\n\n"+
				"Make the registry reachable from this machine (registry_hosts in the provider block) and allow deletes "+
				"(for the distribution registry: storage.delete.enabled); the next build tries again.\n\nOriginal error: %v",
				keep, repo, r.p.registry.Address(repo), err))
		return
	}
	tflog.Info(ctx, "retention done", map[string]any{"repository": repo, "deleted": len(pruned), "dry_run": dryRun})
}

func (r *imageResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state imageResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	repo, digest := state.Repository.ValueString(), state.Digest.ValueString()
	img, err := r.p.registry.Describe(ctx, repo, digest)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		tflog.Warn(ctx, "image no longer in the registry; removing it from state so the next apply rebuilds it", map[string]any{"image_ref": state.ImageRef.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	case err != nil:
		addRegistryWarning(&resp.Diagnostics, r.p.registry, repo, err)
		return
	}
	state.ImageSizeBytes = types.Int64Value(img.Size)
	tags := stringList(ctx, state.Tags, &resp.Diagnostics)
	var kept []string
	for _, tag := range tags {
		got, err := r.p.registry.ResolveTag(ctx, repo, tag)
		switch {
		case err == nil && got == digest:
			kept = append(kept, tag)
		case err == nil || errors.Is(err, registry.ErrNotFound):
			tflog.Warn(ctx, "tag no longer points at the built image; the next plan rebuilds it", map[string]any{"tag": tag, "now": got})
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

// Update stores settings that do not change the image. Right after an
// import it also adopts the configuration: it points the configured tags
// at the imported digest and records the context hash, without building.
func (r *imageResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state imageResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID, plan.Digest, plan.ImageRef = state.ID, state.Digest, state.ImageRef
	plan.BuildPod, plan.Timings, plan.ImageSizeBytes = state.BuildPod, state.Timings, state.ImageSizeBytes
	if plan.BuildPod.IsUnknown() {
		plan.BuildPod = types.StringNull()
	}
	if plan.Timings.IsUnknown() {
		plan.Timings = types.MapNull(types.Float64Type)
	}
	if adopting(ctx, req.Private) {
		repo, digest := plan.Repository.ValueString(), plan.Digest.ValueString()
		for _, tag := range stringList(ctx, plan.Tags, &resp.Diagnostics) {
			if got, err := r.p.registry.ResolveTag(ctx, repo, tag); err == nil && got == digest {
				continue
			}
			if err := r.p.registry.Tag(ctx, repo, digest, tag); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("tags"), "Tag Not Pushed",
					fmt.Sprintf("Adopting the imported image %s needs tag %q to point at it, and tagging failed.\n\n"+
						"Make the registry reachable from this machine (see registry_hosts in the provider block), or remove the tag from the configuration.\n\n"+
						"Original error: %v", plan.ImageRef.ValueString(), tag, err))
				return
			}
		}
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
