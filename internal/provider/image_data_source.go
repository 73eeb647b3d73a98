package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

var (
	_ datasource.DataSource                     = (*imageDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*imageDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*imageDataSource)(nil)
)

type imageDataSource struct {
	p *providerData
}

// NewImageDataSource returns the onesbuild_image data source.
func NewImageDataSource() datasource.DataSource { return &imageDataSource{} }

type imageDataSourceModel struct {
	Repository      types.String `tfsdk:"repository"`
	Tag             types.String `tfsdk:"tag"`
	Digest          types.String `tfsdk:"digest"`
	ID              types.String `tfsdk:"id"`
	ImageRef        types.String `tfsdk:"image_ref"`
	MediaType       types.String `tfsdk:"media_type"`
	ImageSizeBytes  types.Int64  `tfsdk:"image_size_bytes"`
	Created         types.String `tfsdk:"created"`
	Labels          types.Map    `tfsdk:"labels"`
	Annotations     types.Map    `tfsdk:"annotations"`
	ContextSHA256   types.String `tfsdk:"context_sha256"`
	ProviderVersion types.String `tfsdk:"provider_version"`
	Source          types.String `tfsdk:"source"`
	Platforms       types.List   `tfsdk:"platforms"`
}

func (d *imageDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_image"
}

func (d *imageDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads an image from a registry by tag or digest: its digest, size, creation time, labels and annotations, " +
			"including the build history labels `onesbuild_image` writes into every image it builds " +
			"(`" + build.LabelCreated + "`, `" + build.LabelSource + "`, `" + build.LabelContextSHA256 + "`, `" + build.LabelProviderVersion + "`). " +
			"Use it to consume images built by another configuration. The registry is reached through the provider's `registry_hosts`.",
		Attributes: map[string]schema.Attribute{
			"repository": schema.StringAttribute{
				Required: true, Validators: []validator.String{newRepositoryValidator()},
				MarkdownDescription: "Repository, as the cluster sees it, for example `registry.kube-system.svc.cluster.local:5000/new-image`.",
			},
			"tag": schema.StringAttribute{
				Optional: true, Validators: []validator.String{newTagValidator()},
				MarkdownDescription: "Tag to read. Exactly one of `tag` and `digest` is required.",
			},
			"digest": schema.StringAttribute{
				Optional: true, Computed: true, Validators: []validator.String{stringCheck{"sha256:<64 hex digits>", imageref.ValidateDigest}},
				MarkdownDescription: "Digest to read, or the digest the tag points at.",
			},
			"id":               schema.StringAttribute{Computed: true, MarkdownDescription: "Same as `image_ref`."},
			"image_ref":        schema.StringAttribute{Computed: true, MarkdownDescription: "`repository@sha256:...`."},
			"media_type":       schema.StringAttribute{Computed: true, MarkdownDescription: "Media type of the manifest."},
			"image_size_bytes": schema.Int64Attribute{Computed: true, MarkdownDescription: "Compressed size: config and layers as recorded in the manifest."},
			"created":          schema.StringAttribute{Computed: true, MarkdownDescription: "Creation time from the image config, RFC 3339; null when unset."},
			"labels":           schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Labels of the image config."},
			"annotations":      schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Annotations of the manifest."},
			"context_sha256":   schema.StringAttribute{Computed: true, MarkdownDescription: "Build context hash recorded by `onesbuild_image`; null for images it did not build."},
			"provider_version": schema.StringAttribute{Computed: true, MarkdownDescription: "Version of the provider that built the image; null for images it did not build."},
			"source":           schema.StringAttribute{Computed: true, MarkdownDescription: "`" + build.LabelSource + "` label, when known."},
			"platforms": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Platforms of the image, as `os/arch[/variant]`: each image's of an index, sorted, or the image's own."},
		},
	}
}

func (d *imageDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{datasourcevalidator.ExactlyOneOf(path.MatchRoot("tag"), path.MatchRoot("digest"))}
}

func (d *imageDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.p = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *imageDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m imageDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	repo := m.Repository.ValueString()
	digest := m.Digest.ValueString()
	if tag := m.Tag.ValueString(); tag != "" {
		var err error
		digest, err = d.p.registry.ResolveTag(ctx, repo, tag)
		if err != nil {
			addImageReadError(&resp.Diagnostics, d.p.registry, repo+":"+tag, err)
			return
		}
	}
	img, err := d.p.registry.Describe(ctx, repo, digest)
	if err != nil {
		addImageReadError(&resp.Diagnostics, d.p.registry, repo+"@"+digest, err)
		return
	}
	ref := imageref.Ref{Repository: repo, Digest: img.Digest}
	m.Digest, m.ImageRef, m.ID = types.StringValue(img.Digest), types.StringValue(ref.String()), types.StringValue(ref.String())
	m.MediaType = types.StringValue(img.MediaType)
	m.ImageSizeBytes = types.Int64Value(img.Size)
	m.Created = types.StringNull()
	if !img.Created.IsZero() && img.Created.Unix() > 0 {
		m.Created = types.StringValue(img.Created.UTC().Format(time.RFC3339))
	}
	labels, diags := types.MapValueFrom(ctx, types.StringType, nonNil(img.Labels))
	resp.Diagnostics.Append(diags...)
	annotations, diags := types.MapValueFrom(ctx, types.StringType, nonNil(img.Annotations))
	resp.Diagnostics.Append(diags...)
	m.Labels, m.Annotations = labels, annotations
	m.ContextSHA256 = optionalString(img.Labels[build.LabelContextSHA256])
	m.ProviderVersion = optionalString(img.Labels[build.LabelProviderVersion])
	m.Source = optionalString(img.Labels[build.LabelSource])
	platforms, diags := types.ListValueFrom(ctx, types.StringType, append([]string{}, img.Platforms...))
	resp.Diagnostics.Append(diags...)
	m.Platforms = platforms
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func addImageReadError(diags interface {
	AddError(string, string)
}, c *registry.Client, what string, err error) {
	summary, advice := "Image Not Readable", "Check the registry; if it is only reachable inside the cluster, map it with registry_hosts in the provider block."
	if errors.Is(err, registry.ErrNotFound) {
		summary, advice = "Image Not Found", "Check the repository and the tag or digest; the image may have been deleted."
	}
	diags.AddError(summary, fmt.Sprintf("The provider could not read %s (contacted as %s).\n\n%s\n\nOriginal error: %v", what, c.Address(what), advice, err))
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
