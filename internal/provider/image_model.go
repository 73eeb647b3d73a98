package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

type imageResourceModel struct {
	Repository               types.String       `tfsdk:"repository"`
	Tags                     types.List         `tfsdk:"tags"`
	ContextDir               types.String       `tfsdk:"context_dir"`
	ContextFiles             types.Map          `tfsdk:"context_files"`
	ContextURL               types.String       `tfsdk:"context_url"`
	Dockerfile               types.String       `tfsdk:"dockerfile"`
	DockerfileInline         types.String       `tfsdk:"dockerfile_inline"`
	BuildArgs                types.Map          `tfsdk:"build_args"`
	Target                   types.String       `tfsdk:"target"`
	Labels                   types.Map          `tfsdk:"labels"`
	Platform                 types.String       `tfsdk:"platform"`
	ExtraArgs                types.List         `tfsdk:"extra_args"`
	Triggers                 types.Map          `tfsdk:"triggers"`
	RegistryAuthSecret       types.String       `tfsdk:"registry_auth_secret"`
	Insecure                 types.Bool         `tfsdk:"insecure"`
	SkipTLSVerify            types.Bool         `tfsdk:"skip_tls_verify"`
	Namespace                types.String       `tfsdk:"namespace"`
	ServiceAccount           types.String       `tfsdk:"service_account"`
	NodeSelector             types.Map          `tfsdk:"node_selector"`
	KanikoImage              types.String       `tfsdk:"kaniko_image"`
	DeleteOnDestroy          types.Bool         `tfsdk:"delete_on_destroy"`
	KeepBuildPod             types.Bool         `tfsdk:"keep_build_pod"`
	Reproducible             types.Bool         `tfsdk:"reproducible"`
	Executor                 types.String       `tfsdk:"executor"`
	CreationTime             types.String       `tfsdk:"creation_time"`
	ContextCredentialsSecret types.String       `tfsdk:"context_credentials_secret"`
	BuildSecrets             []buildSecretModel `tfsdk:"build_secret"`
	Cache                    *cacheModel        `tfsdk:"cache"`
	Retention                *retentionModel    `tfsdk:"retention"`
	Resources                *resourcesModel    `tfsdk:"resources"`
	Tolerations              []tolerationModel  `tfsdk:"tolerations"`
	Timeouts                 timeouts.Value     `tfsdk:"timeouts"`

	ID              types.String `tfsdk:"id"`
	Digest          types.String `tfsdk:"digest"`
	ImageRef        types.String `tfsdk:"image_ref"`
	TaggedRefs      types.List   `tfsdk:"tagged_refs"`
	ContextSHA256   types.String `tfsdk:"context_sha256"`
	ImageSizeBytes  types.Int64  `tfsdk:"image_size_bytes"`
	BuildPod        types.String `tfsdk:"build_pod"`
	Timings         types.Map    `tfsdk:"timings"`
	ExecutorUsed    types.String `tfsdk:"executor_used"`
	BaseImageDigest types.String `tfsdk:"base_image_digest"`
}

type buildSecretModel struct {
	ID         types.String `tfsdk:"id"`
	SecretName types.String `tfsdk:"secret_name"`
	Key        types.String `tfsdk:"key"`
}

type cacheModel struct {
	Enabled        types.Bool   `tfsdk:"enabled"`
	Repo           types.String `tfsdk:"repo"`
	TTL            types.String `tfsdk:"ttl"`
	BaseImageClaim types.String `tfsdk:"base_image_claim"`
}

type retentionModel struct {
	KeepLast types.Int64 `tfsdk:"keep_last"`
	DryRun   types.Bool  `tfsdk:"dry_run"`
}

type resourcesModel struct {
	Requests types.Map `tfsdk:"requests"`
	Limits   types.Map `tfsdk:"limits"`
}

type tolerationModel struct {
	Key               types.String `tfsdk:"key"`
	Operator          types.String `tfsdk:"operator"`
	Value             types.String `tfsdk:"value"`
	Effect            types.String `tfsdk:"effect"`
	TolerationSeconds types.Int64  `tfsdk:"toleration_seconds"`
}

// stringMap reads a map attribute; null gives nil.
func stringMap(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

func stringList(ctx context.Context, l types.List, diags *diag.Diagnostics) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

// contextSource returns the build context a configuration describes,
// or ok=false for a context_url.
func (m imageResourceModel) contextSource(ctx context.Context, diags *diag.Diagnostics) (src buildcontext.Source, ok bool) {
	if !m.ContextURL.IsNull() {
		return buildcontext.Source{}, false
	}
	src = buildcontext.Source{
		Dir:              m.ContextDir.ValueString(),
		DockerfilePath:   m.Dockerfile.ValueString(),
		DockerfileInline: m.DockerfileInline.ValueString(),
	}
	if !m.ContextFiles.IsNull() {
		src.Files = stringMap(ctx, m.ContextFiles, diags)
		if src.Files == nil {
			src.Files = map[string]string{}
		}
	}
	return src, true
}

// contextInputsKnown reports whether everything the context hash depends
// on is known at plan time.
func (m imageResourceModel) contextInputsKnown() bool {
	return !m.ContextDir.IsUnknown() && !m.ContextFiles.IsUnknown() && !m.ContextURL.IsUnknown() &&
		!m.Dockerfile.IsUnknown() && !m.DockerfileInline.IsUnknown()
}

// urlContextHash stands in for a context the provider cannot read.
func urlContextHash(url string) string {
	sum := sha256.Sum256([]byte("context_url\x00" + url))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// taggedRefs lists repository:tag for each tag.
func taggedRefs(repository string, tags []string) types.List {
	refs := make([]attr.Value, len(tags))
	for i, t := range tags {
		refs[i] = types.StringValue(repository + ":" + t)
	}
	return types.ListValueMust(types.StringType, refs)
}

// spec maps the model onto a build spec. deadline bounds the build pod's
// life on the cluster.
func (m imageResourceModel) spec(ctx context.Context, p *providerData, deadline time.Duration, diags *diag.Diagnostics) build.Spec {
	spec := build.Spec{
		Executor:                 stringOr(m.Executor, p.defaultExecutor),
		Namespace:                m.Namespace.ValueString(),
		Repository:               m.Repository.ValueString(),
		Tags:                     stringList(ctx, m.Tags, diags),
		ContextURL:               m.ContextURL.ValueString(),
		ContextCredentialsSecret: m.ContextCredentialsSecret.ValueString(),
		Dockerfile:               m.Dockerfile.ValueString(),
		BuildArgs:                stringMap(ctx, m.BuildArgs, diags),
		Target:                   m.Target.ValueString(),
		Labels:                   stringMap(ctx, m.Labels, diags),
		Platform:                 m.Platform.ValueString(),
		Reproducible:             m.Reproducible.ValueBool(),
		Created:                  m.creationTime(),
		Registry: build.RegistryAccess{
			AuthSecret:         m.RegistryAuthSecret.ValueString(),
			Insecure:           m.Insecure.ValueBool(),
			SkipTLSVerify:      m.SkipTLSVerify.ValueBool(),
			InsecureRegistries: p.insecureRegistries,
			PushRetry:          p.pushRetry,
			ImageDownloadRetry: p.imageDownloadRetry,
		},
		Pod: build.PodOptions{
			ServiceAccount: m.ServiceAccount.ValueString(),
			NodeSelector:   stringMap(ctx, m.NodeSelector, diags),
			Image:          stringOr(m.KanikoImage, p.kanikoImage),
			ExtraArgs:      stringList(ctx, m.ExtraArgs, diags),
			Deadline:       deadline,
			KeepPod:        m.KeepBuildPod.ValueBool(),
		},
	}
	if src, ok := m.contextSource(ctx, diags); ok {
		spec.Source = &src
	} else {
		spec.ContextSHA256 = urlContextHash(spec.ContextURL)
	}
	if spec.Namespace == "" {
		spec.Namespace = p.namespace
	}
	for _, s := range m.BuildSecrets {
		spec.Secrets = append(spec.Secrets, build.BuildSecret{ID: s.ID.ValueString(), SecretName: s.SecretName.ValueString(), Key: s.Key.ValueString()})
	}
	if m.Retention != nil && !m.Retention.KeepLast.IsNull() {
		spec.Retention = &build.Retention{KeepLast: int(m.Retention.KeepLast.ValueInt64()), DryRun: m.Retention.DryRun.ValueBool()}
	}
	if m.Cache != nil && m.Cache.Enabled.ValueBool() {
		spec.Pod.Cache = build.Cache{Enabled: true, Repo: m.Cache.Repo.ValueString(), BaseImageClaim: m.Cache.BaseImageClaim.ValueString()}
		if ttl := m.Cache.TTL.ValueString(); ttl != "" {
			spec.Pod.Cache.TTL, _ = time.ParseDuration(ttl) // validated in the schema
		}
	}
	if m.Resources != nil {
		spec.Pod.Resources = corev1.ResourceRequirements{
			Requests: quantities(stringMap(ctx, m.Resources.Requests, diags)),
			Limits:   quantities(stringMap(ctx, m.Resources.Limits, diags)),
		}
	}
	for _, t := range m.Tolerations {
		tol := corev1.Toleration{
			Key:      t.Key.ValueString(),
			Operator: corev1.TolerationOperator(t.Operator.ValueString()),
			Value:    t.Value.ValueString(),
			Effect:   corev1.TaintEffect(t.Effect.ValueString()),
		}
		if !t.TolerationSeconds.IsNull() {
			s := t.TolerationSeconds.ValueInt64()
			tol.TolerationSeconds = &s
		}
		spec.Pod.Tolerations = append(spec.Pod.Tolerations, tol)
	}
	return spec
}

// defaultCreationTime is the creation time of reproducible images: the
// Unix epoch, as Kaniko's --reproducible sets it.
const defaultCreationTime = "1970-01-01T00:00:00Z"

// creationTime is the fixed creation time of a reproducible image.
func (m imageResourceModel) creationTime() time.Time {
	t, err := time.Parse(time.RFC3339, stringOr(m.CreationTime, defaultCreationTime))
	if err != nil {
		return time.Unix(0, 0).UTC() // validated in the schema
	}
	return t.UTC()
}

func quantities(m map[string]string) corev1.ResourceList {
	if len(m) == 0 {
		return nil
	}
	out := corev1.ResourceList{}
	for k, v := range m {
		out[corev1.ResourceName(k)] = resource.MustParse(v) // validated in the schema
	}
	return out
}

// timingsValue converts engine timings to state.
func timingsValue(t build.Timings) types.Map {
	values := map[string]attr.Value{}
	for k, v := range t.Seconds() {
		values[k] = types.Float64Value(v)
	}
	return types.MapValueMust(types.Float64Type, values)
}
