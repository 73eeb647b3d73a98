package provider

import (
	"context"
	"reflect"
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
	Platforms                types.Set          `tfsdk:"platforms"`
	SkipArchitectureCheck    types.Bool         `tfsdk:"skip_architecture_check"`
	RebuildOnBaseChange      types.Bool         `tfsdk:"rebuild_on_base_change"`
	PlatformNodeSelectors    types.Map          `tfsdk:"platform_node_selectors"`
	ExtraArgs                types.List         `tfsdk:"extra_args"`
	Triggers                 types.Map          `tfsdk:"triggers"`
	RegistryAuthSecret       types.String       `tfsdk:"registry_auth_secret"`
	Insecure                 types.Bool         `tfsdk:"insecure"`
	SkipTLSVerify            types.Bool         `tfsdk:"skip_tls_verify"`
	Namespace                types.String       `tfsdk:"namespace"`
	ServiceAccount           types.String       `tfsdk:"service_account"`
	AutomountToken           types.Bool         `tfsdk:"automount_service_account_token"`
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
	SBOM                     *sbomModel         `tfsdk:"sbom"`
	Provenance               *provenanceModel   `tfsdk:"provenance"`
	Signing                  *signingModel      `tfsdk:"signing"`
	Resources                *resourcesModel    `tfsdk:"resources"`
	Tolerations              []tolerationModel  `tfsdk:"tolerations"`
	Timeouts                 timeouts.Value     `tfsdk:"timeouts"`

	ID               types.String `tfsdk:"id"`
	Digest           types.String `tfsdk:"digest"`
	ImageRef         types.String `tfsdk:"image_ref"`
	TaggedRefs       types.List   `tfsdk:"tagged_refs"`
	ContextSHA256    types.String `tfsdk:"context_sha256"`
	ImageSizeBytes   types.Int64  `tfsdk:"image_size_bytes"`
	BuildPod         types.String `tfsdk:"build_pod"`
	Timings          types.Map    `tfsdk:"timings"`
	ExecutorUsed     types.String `tfsdk:"executor_used"`
	BaseImageDigest  types.String `tfsdk:"base_image_digest"`
	PlatformDigests  types.Map    `tfsdk:"platform_digests"`
	PlatformSizes    types.Map    `tfsdk:"platform_sizes_bytes"`
	SBOMDigest       types.String `tfsdk:"sbom_digest"`
	ProvenanceDigest types.String `tfsdk:"provenance_digest"`
	SignatureDigest  types.String `tfsdk:"signature_digest"`
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

// reading collects whether every value read was known.
type reading struct{ known bool }

func (r *reading) list(v types.List) []string {
	values, known := listStrings(v)
	r.known = r.known && known
	return values
}

func (r *reading) strMap(v types.Map) map[string]string {
	values, known := mapStrings(v)
	r.known = r.known && known
	return values
}

func (r *reading) set(v types.Set) []string {
	values, known := listStrings(v)
	r.known = r.known && known
	return values
}

// nestedMap reads a map of maps of strings.
func (r *reading) nestedMap(v types.Map) map[string]map[string]string {
	if v.IsNull() {
		return nil
	}
	if v.IsUnknown() {
		r.known = false
		return nil
	}
	out := map[string]map[string]string{}
	for k, e := range v.Elements() {
		inner, ok := e.(types.Map)
		if !ok {
			r.known = false
			continue
		}
		out[k] = r.strMap(inner)
	}
	return out
}

// check notes scalars that are unknown.
func (r *reading) check(values ...attr.Value) {
	for _, v := range values {
		r.known = r.known && !v.IsUnknown()
	}
}

// buildContext returns the build context a configuration describes.
func (m imageResourceModel) buildContext(r *reading) build.Context {
	r.check(m.ContextDir, m.ContextFiles, m.ContextURL, m.Dockerfile, m.DockerfileInline, m.ContextCredentialsSecret)
	if !m.ContextURL.IsNull() {
		return build.Context{URL: m.ContextURL.ValueString(), Dockerfile: m.Dockerfile.ValueString(), CredentialsSecret: m.ContextCredentialsSecret.ValueString()}
	}
	src := &buildcontext.Source{
		Dir:              m.ContextDir.ValueString(),
		DockerfilePath:   m.Dockerfile.ValueString(),
		DockerfileInline: m.DockerfileInline.ValueString(),
	}
	if !m.ContextFiles.IsNull() {
		src.Files = r.strMap(m.ContextFiles)
	}
	return build.Context{Source: src, CredentialsSecret: m.ContextCredentialsSecret.ValueString()}
}

// localContext returns the local context a configuration describes, or
// ok=false for a context_url or a context that is not known yet.
func (m imageResourceModel) localContext() (src buildcontext.Source, ok bool) {
	r := reading{known: true}
	c := m.buildContext(&r)
	if c.Source == nil || !r.known {
		return buildcontext.Source{}, false
	}
	return *c.Source, true
}

// taggedRefs lists repository:tag for each tag.
func taggedRefs(repository string, tags []string) types.List {
	refs := make([]attr.Value, len(tags))
	for i, t := range tags {
		refs[i] = types.StringValue(repository + ":" + t)
	}
	return types.ListValueMust(types.StringType, refs)
}

// spec maps the model onto a build spec, the same for plan and apply;
// known is false while any value it reads is unknown. deadline bounds
// the build pod's life on the cluster.
func (m imageResourceModel) spec(p *providerData, deadline time.Duration) (spec build.Spec, known bool) {
	r := reading{known: true}
	r.check(m.Executor, m.Namespace, m.Repository, m.Target, m.Platform, m.SkipArchitectureCheck, m.Reproducible, m.CreationTime, m.RegistryAuthSecret,
		m.Insecure, m.SkipTLSVerify, m.ServiceAccount, m.AutomountToken, m.KanikoImage, m.KeepBuildPod)
	spec = build.Spec{
		Executor:   stringOr(m.Executor, p.defaultExecutor),
		Namespace:  stringOr(m.Namespace, p.namespace),
		Repository: m.Repository.ValueString(),
		Tags:       r.list(m.Tags),
		Context:    m.buildContext(&r),
		BuildArgs:  r.strMap(m.BuildArgs),
		Target:     m.Target.ValueString(),
		Labels:     r.strMap(m.Labels),
		Platform:   m.Platform.ValueString(),
		Platforms:  r.set(m.Platforms),

		SkipArchitectureCheck: m.SkipArchitectureCheck.ValueBool(),
		Reproducible:          m.Reproducible.ValueBool(),
		Created:               m.creationTime(),
		Registry: build.RegistryAccess{
			AuthSecret:         m.RegistryAuthSecret.ValueString(),
			Insecure:           m.Insecure.ValueBool(),
			SkipTLSVerify:      m.SkipTLSVerify.ValueBool(),
			InsecureRegistries: p.insecureRegistries,
			PushRetry:          p.pushRetry,
			ImageDownloadRetry: p.imageDownloadRetry,
		},
		Pod: build.PodOptions{
			ServiceAccount:               m.ServiceAccount.ValueString(),
			AutomountServiceAccountToken: m.AutomountToken.ValueBool(),
			NodeSelector:                 r.strMap(m.NodeSelector),
			Image:                        stringOr(m.KanikoImage, p.kanikoImage),
			ExtraArgs:                    r.list(m.ExtraArgs),
			Deadline:                     deadline,
			KeepPod:                      m.KeepBuildPod.ValueBool(),
		},
	}
	if len(spec.Platforms) == 1 {
		spec.Platform, spec.Platforms = spec.Platforms[0], nil
	}
	spec.Pod.PlatformNodeSelectors = r.nestedMap(m.PlatformNodeSelectors)
	for _, s := range m.BuildSecrets {
		r.check(s.ID, s.SecretName, s.Key)
		spec.Secrets = append(spec.Secrets, build.BuildSecret{ID: s.ID.ValueString(), SecretName: s.SecretName.ValueString(), Key: s.Key.ValueString()})
	}
	if m.Retention != nil {
		r.check(m.Retention.KeepLast, m.Retention.DryRun)
		if !m.Retention.KeepLast.IsNull() {
			spec.Retention = &build.Retention{KeepLast: int(m.Retention.KeepLast.ValueInt64()), DryRun: m.Retention.DryRun.ValueBool()}
		}
	}
	if m.Cache != nil {
		r.check(m.Cache.Enabled, m.Cache.Repo, m.Cache.TTL, m.Cache.BaseImageClaim)
		if m.Cache.Enabled.ValueBool() {
			spec.Pod.Cache = build.Cache{Enabled: true, Repo: m.Cache.Repo.ValueString(), BaseImageClaim: m.Cache.BaseImageClaim.ValueString()}
			if ttl := m.Cache.TTL.ValueString(); ttl != "" {
				spec.Pod.Cache.TTL, _ = time.ParseDuration(ttl) // validated in the schema
			}
		}
	}
	if m.Resources != nil {
		spec.Pod.Resources = corev1.ResourceRequirements{
			Requests: quantities(r.strMap(m.Resources.Requests)),
			Limits:   quantities(r.strMap(m.Resources.Limits)),
		}
	}
	for _, t := range m.Tolerations {
		r.check(t.Key, t.Operator, t.Value, t.Effect, t.TolerationSeconds)
		tol := corev1.Toleration{
			Key:      t.Key.ValueString(),
			Operator: corev1.TolerationOperator(t.Operator.ValueString()),
			Value:    t.Value.ValueString(),
			Effect:   corev1.TaintEffect(t.Effect.ValueString()),
		}
		if !t.TolerationSeconds.IsNull() && !t.TolerationSeconds.IsUnknown() {
			s := t.TolerationSeconds.ValueInt64()
			tol.TolerationSeconds = &s
		}
		spec.Pod.Tolerations = append(spec.Pod.Tolerations, tol)
	}
	// The SBOM reads the layers right after the build.
	spec.KeepLayerTars = m.SBOM != nil
	return spec, r.known
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

// detached is a copy of m whose blocks (the pointers to and slices of
// block models) are its own, so that m and the copy can be compared
// after either is changed; the attribute values in them are immutable
// and shared.
func (m imageResourceModel) detached() imageResourceModel {
	c := m
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Pointer && !f.IsNil():
			p := reflect.New(f.Type().Elem())
			p.Elem().Set(f.Elem())
			f.Set(p)
		case f.Kind() == reflect.Slice && !f.IsNil():
			s := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			reflect.Copy(s, f)
			f.Set(s)
		}
	}
	return c
}

// modelSetter is tfsdk.State or tfsdk.Plan.
type modelSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// setUnlessSame writes after into the response's state or plan unless it
// is, value for value, before: the model read from the value the
// response already holds (the framework fills it with the prior state
// or the proposed plan). Writing the model back converts every attribute
// through the framework's schema walks, most of the provider's CPU in a
// plan of many resources with nothing changed. Values equal only in
// meaning (a list built again) are written, as always.
func setUnlessSame(ctx context.Context, dst modelSetter, before, after imageResourceModel, diags *diag.Diagnostics) {
	if reflect.DeepEqual(before, after) {
		return
	}
	diags.Append(dst.Set(ctx, &after)...)
}
