package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/attest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

var (
	_ datasource.DataSource                     = (*verificationDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*verificationDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*verificationDataSource)(nil)
)

type verificationDataSource struct {
	p *providerData
}

// NewVerificationDataSource returns the onesbuild_image_verification data
// source.
func NewVerificationDataSource() datasource.DataSource { return &verificationDataSource{} }

type verificationModel struct {
	ImageRef          types.String `tfsdk:"image_ref"`
	PublicKey         types.String `tfsdk:"public_key"`
	KMSKey            types.String `tfsdk:"kms_key"`
	RequireSBOM       types.Bool   `tfsdk:"require_sbom"`
	RequireProvenance types.Bool   `tfsdk:"require_provenance"`
	ID                types.String `tfsdk:"id"`
	SignatureDigest   types.String `tfsdk:"signature_digest"`
	SBOMDigest        types.String `tfsdk:"sbom_digest"`
	SBOMMediaType     types.String `tfsdk:"sbom_media_type"`
	ProvenanceDigest  types.String `tfsdk:"provenance_digest"`
	BuilderID         types.String `tfsdk:"builder_id"`
	BuildType         types.String `tfsdk:"build_type"`
	BaseImageDigest   types.String `tfsdk:"base_image_digest"`
	ContextSHA256     types.String `tfsdk:"context_sha256"`
}

func (d *verificationDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_image_verification"
}

func (d *verificationDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Verifies an image's cosign signature with a public key, with no transparency log, and finds its SBOM and SLSA " +
			"provenance among its OCI referrers, trusting only those signed by the same key. A failed verification is an error, so a " +
			"Deployment that uses `image_ref` from here is never planned with an image that does not verify. Works on images built " +
			"elsewhere too (signed with `cosign sign --key`). The registry is reached through the provider's `registry_hosts`.",
		Attributes: map[string]schema.Attribute{
			"image_ref": schema.StringAttribute{
				Required: true, Validators: []validator.String{stringCheck{"repository@sha256:<64 hex digits>", validateImageRef}},
				MarkdownDescription: "Image to verify, by digest: `repository@sha256:...`, as `onesbuild_image` exports it.",
			},
			"public_key": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "PEM public key (`cosign.pub`) the image must be signed with. Set this or `kms_key`.",
			},
			"kms_key": schema.StringAttribute{
				Optional: true, Validators: []validator.String{stringCheck{"<scheme>://<key>", signing.ValidKMSReference}},
				MarkdownDescription: "A KMS key the image must be signed with, `<scheme>://<key>` as in `onesbuild_image`'s `signing` block: " +
					"its public key is asked of the KMS through its sigstore plugin (`sigstore-kms-<scheme>` on PATH). Set this or `public_key`.",
			},
			"require_sbom": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Fail unless an SBOM signed by the key is attached. Default `false`.",
			},
			"require_provenance": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Fail unless SLSA provenance signed by the key is attached. Default `false`.",
			},
			"id":                schema.StringAttribute{Computed: true, MarkdownDescription: "Same as `image_ref`."},
			"signature_digest":  schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the signature image holding the verified signature."},
			"sbom_digest":       schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of a verified SBOM attachment; null when none."},
			"sbom_media_type":   schema.StringAttribute{Computed: true, MarkdownDescription: "Its type: `application/spdx+json` or `application/vnd.cyclonedx+json`."},
			"provenance_digest": schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of a verified provenance attachment; null when none."},
			"builder_id":        schema.StringAttribute{Computed: true, MarkdownDescription: "The provenance's builder id."},
			"build_type":        schema.StringAttribute{Computed: true, MarkdownDescription: "The provenance's build type."},
			"base_image_digest": schema.StringAttribute{Computed: true, MarkdownDescription: "The base image digest the provenance names."},
			"context_sha256":    schema.StringAttribute{Computed: true, MarkdownDescription: "The build context hash the provenance names."},
		},
	}
}

func (d *verificationDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{datasourcevalidator.ExactlyOneOf(path.MatchRoot("public_key"), path.MatchRoot("kms_key"))}
}

func validateImageRef(s string) error {
	_, err := imageref.ParseRef(s)
	return err
}

func (d *verificationDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.p = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *verificationDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m verificationModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ref, _ := imageref.ParseRef(m.ImageRef.ValueString())
	var pub signature.Verifier
	var err error
	if ref := m.KMSKey.ValueString(); ref != "" {
		if pub, err = kmsVerifier(ctx, ref); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("kms_key"), "KMS Key Not Usable",
				fmt.Sprintf("The public key of %s could not be read from the KMS.\n\nInstall the KMS's sigstore plugin as %s on the PATH of "+
					"the machine running Terraform, or give its public key as public_key.\n\nOriginal error: %v", ref, signing.KMSPluginName(ref), err))
			return
		}
	} else if pub, err = signing.LoadPublicKey([]byte(m.PublicKey.ValueString())); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("public_key"), "Public Key Not Readable",
			fmt.Sprintf("public_key must be a PEM public key, such as cosign generate-key-pair's cosign.pub.\n\nOriginal error: %v", err))
		return
	}
	v, err := attest.Verify(ctx, d.p.registry, ref.Repository, ref.Digest, pub)
	if err != nil {
		advice := "Sign the image with the matching private key (onesbuild_image's signing block, or cosign sign --key), or use the public key it was signed with."
		if !errors.Is(err, attest.ErrUnsigned) {
			advice = "Check the registry; if it is only reachable inside the cluster, map it with registry_hosts in the provider block."
		}
		resp.Diagnostics.AddAttributeError(path.Root("image_ref"), "Image Not Verified",
			fmt.Sprintf("%s does not verify with the key.\n\n%s\n\nOriginal error: %v", m.ImageRef.ValueString(), advice, err))
		return
	}
	if m.RequireSBOM.ValueBool() && v.SBOM == "" {
		resp.Diagnostics.AddAttributeError(path.Root("require_sbom"), "SBOM Not Verified",
			fmt.Sprintf("%s is signed, and no SBOM signed by the same key is attached to it.\n\nAttach one (onesbuild_image's sbom block with signing) or set require_sbom = false.", m.ImageRef.ValueString()))
		return
	}
	if m.RequireProvenance.ValueBool() && v.Provenance == "" {
		resp.Diagnostics.AddAttributeError(path.Root("require_provenance"), "Provenance Not Verified",
			fmt.Sprintf("%s is signed, and no SLSA provenance signed by the same key is attached to it.\n\nAttach it (onesbuild_image's provenance block with signing) or set require_provenance = false.", m.ImageRef.ValueString()))
		return
	}
	m.ID = m.ImageRef
	m.SignatureDigest = types.StringValue(v.Signature)
	m.SBOMDigest, m.SBOMMediaType = optionalString(v.SBOM), optionalString(v.SBOMType)
	m.ProvenanceDigest = optionalString(v.Provenance)
	m.BuilderID, m.BuildType = optionalString(v.BuilderID), optionalString(v.BuildType)
	m.BaseImageDigest = optionalString(v.BaseImageDigest)
	m.ContextSHA256 = optionalString(v.ContextSHA256)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// kmsVerifier verifies with the public key the KMS gives, read once here:
// verifying then needs nothing more of the KMS.
func kmsVerifier(ctx context.Context, ref string) (signature.Verifier, error) {
	sv, err := signing.LoadKMS(ctx, ref)
	if err != nil {
		return nil, err
	}
	pem, err := signing.PublicKeyPEM(sv)
	if err != nil {
		return nil, err
	}
	return signing.LoadPublicKey(pem)
}
