package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

// defaultCreateTimeout bounds a build when the configuration sets none.
const defaultCreateTimeout = "20m"

// contextSources are the attributes of which exactly one names the
// build context.
var contextSources = []string{"context_dir", "context_files", "context_url"}

func (r *imageResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Builds a container image, pushes it to `repository` under every tag in `tags`, and exposes the pushed " +
			"manifest's `digest`, so other resources deploy exactly what was built.\n\n" +
			"## Executors\n\n" +
			"* `kaniko` (the default): the Kaniko executor runs in one pod per build in the cluster and performs any Dockerfile. " +
			"The pod is deleted when the build ends, whether it succeeded, failed, timed out or was cancelled.\n" +
			"* `direct`: no pod. For a single-stage Dockerfile that only copies files from the context onto a base image and sets " +
			"configuration (`ARG`, `FROM`, `ENV`, `LABEL`, `WORKDIR`, `COPY`, `USER`, `EXPOSE`, `VOLUME`, `ENTRYPOINT`, `CMD`, " +
			"`STOPSIGNAL`, `SHELL`), the provider assembles the image itself from the machine running Terraform: it resolves the base " +
			"in its registry, turns each `COPY` into a layer, and pushes the manifest with the base layers referenced, not copied. " +
			"The files, owners, modes and configuration are the same as Kaniko's from the same inputs. Eligibility is decided at plan " +
			"time; an ineligible Dockerfile is an error naming the instruction and its line. A direct build targets the platform Kaniko " +
			"would: `platform`, else that of the nodes a build pod could be scheduled on (`node_selector`, `tolerations`), never that " +
			"of the machine running Terraform; when neither tells and the base image has several platforms, or the Dockerfile declares " +
			"`ARG TARGETARCH` and the like, the plan asks for `platform`.\n" +
			"* `auto`: `direct` when the Dockerfile is eligible and the registry answers from this machine, `kaniko` otherwise; the " +
			"log (`TF_LOG=INFO`) says which and why, and `executor_used` records it.\n\n" +
			"## Reproducibility\n\n" +
			"Direct builds are bit-for-bit reproducible: the same context, Dockerfile, base image digest, build arguments and labels " +
			"give the same digest on any machine (file times are the Unix epoch, the creation time is `creation_time`). The build " +
			"history labels keep what identifies the inputs (`dev.onesbuild.context-sha256`, `org.opencontainers.image.source` " +
			"without credentials) and leave out the wall-clock time and the provider version. Kaniko builds are not reproducible " +
			"unless `reproducible = true`, which costs about 4x the build time.\n\n" +
			"## Plans\n\n" +
			"Every refresh hashes `context_dir`; a different hash plans a replacement. A new image is only decided by the plan: the " +
			"plan Terraform makes again during apply reads nothing from the context, and `context_sha256` records the hash of what " +
			"the build actually read. Changing any argument that shapes the image (repository, tags, context, Dockerfile, build " +
			"arguments, target, labels, platform, executor, extra arguments, triggers) builds a new image; arguments that only shape " +
			"the build pod (namespace, service account, resources, scheduling, executor image, credentials, cache) apply to the next " +
			"build. A tag moved outside Terraform is pointed back in place, without a build. Values not known until another resource " +
			"is applied (a `build_args` or `context_files` value from another resource's output) leave `digest`, `executor_used` and " +
			"the like unknown in the plan. A `COPY` or `ADD` source that leaves the context (`../`) is a plan error for both executors.\n\n" +
			"## Faults\n\n" +
			"A build pod deleted (also gracefully, as a drain does), evicted or preempted before Kaniko finished is built again once in " +
			"a new pod; so is a build whose registry failed for a moment (refused, reset or closed, timed out, 5xx) while Kaniko read the base " +
			"image or pushed, after a short pause; a failing `RUN` never is. A pod refused because a ResourceQuota of the namespace is " +
			"used up waits for capacity (counted in `timings.queued` and against the create timeout): the quota is the queue of every run " +
			"that builds there. The next build deletes pods a killed provider left behind. A build that pushed a tag and then failed is " +
			"saved, tainted, with what it pushed. An image the registry says it does not know is rebuilt; an answer from something that " +
			"is not a registry (a wrong port, a proxy) is a warning, and the state is kept.\n\n" +
			"## Security\n\n" +
			"Build pods run with the `RuntimeDefault` seccomp profile and without privilege escalation. Kaniko runs as root inside " +
			"its container (it unpacks file systems), so the build namespace needs the Pod Security level `baseline` (not " +
			"`restricted`). Credentials never enter the pod spec, the image or the state: registry credentials come from " +
			"`registry_auth_secret`, `context_url` credentials from `context_credentials_secret`, and `RUN` secrets from " +
			"`build_secret`; a presigned `context_url` (one with a query string) reaches Kaniko from a Secret made for the build and " +
			"deleted with its pod. The build pod mounts no Kubernetes API token unless `automount_service_account_token` is set. Kaniko " +
			"mounts build secrets and registry credentials into the container that runs every `RUN` step, so any `RUN` can read them: " +
			"build only Dockerfiles you trust with them. `build_args` are not secret: they are visible in the image's history, in " +
			"Terraform state and plans, and in the build pod's spec. The provider's credentials need, in the build namespace, `create`, " +
			"`get`, `list`, `watch` and `delete` on pods, `create` and `get` on `pods/attach`, `get` on `pods/log`, and `get` on the " +
			"secrets it names (`examples/rbac/role.yaml` in the repository).",
		Attributes: map[string]schema.Attribute{
			// Required.
			"repository": schema.StringAttribute{
				Required:      true,
				Validators:    []validator.String{newRepositoryValidator()},
				PlanModifiers: []planmodifier.String{replaceString()},
				MarkdownDescription: "Repository to push to, as the cluster sees it, with registry host and without tag, " +
					"for example `registry.kube-system.svc.cluster.local:5000/new-image`.",
			},

			// Optional: what is built.
			"tags": schema.ListAttribute{
				Optional: true, Computed: true, ElementType: types.StringType,
				Default:             listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{types.StringValue("latest")})),
				Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(newTagValidator())},
				PlanModifiers:       []planmodifier.List{replaceList()},
				MarkdownDescription: "Tags to push; the image is pushed as `repository:tag` for each. Defaults to `[\"latest\"]`.",
			},
			"context_dir": schema.StringAttribute{
				Optional:      true,
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
				PlanModifiers: []planmodifier.String{replaceString()},
				MarkdownDescription: "Local directory to use as the build context. It is archived deterministically " +
					"(sorted entries, normalised owners and times) and streamed into the build pod, so its size is not limited by ConfigMaps " +
					"or Secrets. The ignore file is read as BuildKit and Kaniko read it: `<Dockerfile>.dockerignore` next to the Dockerfile " +
					"first, else `.dockerignore`; excluded files are not sent, and the Dockerfile and ignore file, always sent, are not copied " +
					"by `COPY` when they are excluded. The Dockerfile is read inside the context only: a link to outside it is an error. " +
					"Exactly one of `context_dir`, `context_files` and `context_url` is required.",
			},
			"context_files": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Map{replaceMap()},
				MarkdownDescription: "Build context given as a map of relative path to file content, for generated contexts. " +
					"Files are created with mode 0644.",
			},
			"context_url": schema.StringAttribute{
				Optional:      true,
				Validators:    []validator.String{newContextURLValidator()},
				PlanModifiers: []planmodifier.String{replaceString()},
				MarkdownDescription: "Context that Kaniko fetches itself: `git://host/repo.git#ref`, `s3://bucket/ctx.tar.gz`, " +
					"`gs://bucket/ctx.tar.gz`, `https://host/ctx.tar.gz` or `dir:///path/in/the/pod`. The provider cannot see its content, " +
					"so only a change of the URL (or of `triggers`) rebuilds the image. Credentials do not belong in the URL, which is stored in " +
					"Terraform state: a URL with a user or password is rejected (however it is written); put them in " +
					"`context_credentials_secret` instead. A query string (a presigned URL) is accepted; it reaches Kaniko from a Secret made " +
					"for the build (needs the `onesbuild-presigned-context` Role of `examples/rbac/role.yaml`), and the query and fragment " +
					"never reach image labels, logs or diagnostics.",
			},
			"dockerfile": schema.StringAttribute{
				Optional: true, Computed: true,
				Default:             stringdefault.StaticString(buildcontext.DefaultDockerfile),
				Validators:          []validator.String{stringvalidator.ConflictsWith(path.MatchRoot("dockerfile_inline"))},
				PlanModifiers:       []planmodifier.String{replaceString()},
				MarkdownDescription: "Path of the Dockerfile inside the context. Defaults to `Dockerfile`.",
			},
			"dockerfile_inline": schema.StringAttribute{
				Optional:      true,
				PlanModifiers: []planmodifier.String{replaceString()},
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.ConflictsWith(path.MatchRoot("context_url")),
				},
				MarkdownDescription: "Dockerfile content. It is added to the context under a private name, with an ignore file of its own " +
					"that holds the context's `.dockerignore` and excludes both, so it never collides with the context's files and `COPY .` " +
					"never copies it into the image. Not available with `context_url`.",
			},
			"build_args": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Map{replaceMap()},
				MarkdownDescription: "Build-time variables (`ARG`), passed as `--build-arg KEY=VALUE`. Not for secrets: build arguments are " +
					"visible in the image's history, in Terraform state and plans, and in the build pod's spec. Use `build_secret` for secrets.",
			},
			"target": schema.StringAttribute{
				Optional: true, PlanModifiers: []planmodifier.String{replaceString()},
				MarkdownDescription: "Stage of a multi-stage Dockerfile to build (`--target`).",
			},
			"labels": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				PlanModifiers:       []planmodifier.Map{replaceMap()},
				MarkdownDescription: "Labels added to the image config (`--label`).",
			},
			"platform": schema.StringAttribute{
				Optional: true, PlanModifiers: []planmodifier.String{replaceString()},
				Validators: []validator.String{newPlatformValidator()},
				MarkdownDescription: "Target platform as `os/arch[/variant]`, for example `linux/arm64` (`--custom-platform`). Defaults to the " +
					"platform of the node the build runs on; a direct build takes that of the nodes a build pod could be scheduled on, and asks " +
					"for this attribute when they cannot be listed or disagree. The predefined `TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`, " +
					"`TARGETVARIANT` and `BUILDPLATFORM` arguments follow it in both executors.",
			},
			"platforms": schema.SetAttribute{
				Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Set{replaceSet()},
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(newPlatformValidator()),
					setvalidator.ConflictsWith(path.MatchRoot("platform")),
				},
				MarkdownDescription: "Platforms to build the image for, as `os/arch[/variant]`. With two or more, the image is an OCI image " +
					"index of one image per platform: `digest` and `image_ref` are the index's, `platform_digests` and `platform_sizes_bytes` " +
					"give each platform's image. A direct build appends the same layers to each platform's image of the base (identical layers " +
					"are stored once) and is reproducible; Kaniko builds each platform in a pod of its own, scheduled on nodes of that platform " +
					"(`kubernetes.io/os` and `kubernetes.io/arch`, or `platform_node_selectors`), in parallel within `max_concurrent_builds`, " +
					"and the provider pushes the index from this machine. A Dockerfile without `RUN` builds a foreign platform on any node " +
					"(`--custom-platform`); one with `RUN` and no node of a platform fails at plan. Conflicts with `platform`.",
			},
			"platform_node_selectors": schema.MapAttribute{
				Optional: true, ElementType: types.MapType{ElemType: types.StringType},
				MarkdownDescription: "Node labels a platform's build pod is scheduled by, instead of `kubernetes.io/os` and " +
					"`kubernetes.io/arch`, by platform (`{ \"linux/arm64\" = { pool = \"arm\" } }`); merged into `node_selector`.",
			},
			"skip_architecture_check": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Build even when an executable the Dockerfile copies into the image (an ELF, Mach-O or PE file) is " +
					"built for another platform than the image's. Without it, such a file is an error at plan time (direct builds) or before " +
					"the pod is created (Kaniko builds), naming the file, what it is built for, the platform and the fix (for Go, " +
					"`GOOS=linux GOARCH=amd64`), instead of an `exec format error` when a pod starts. The image's platform is `platform` (each " +
					"of `platforms`), else that of the nodes when they all have one. Defaults to `false`.",
			},
			"rebuild_on_base_change": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Rebuild when the tag the final stage's `FROM` names has moved since the build: every refresh " +
					"resolves it (for the build's platform; an index that still holds the recorded image has not moved) and a moved " +
					"base plans a replacement, with the old and new base digests in a warning. An unreachable registry is a warning and " +
					"no rebuild; a `context_url` context, whose Dockerfile Kaniko fetches in the pod, is not checked. Defaults to `false`.",
			},
			"extra_args": schema.ListAttribute{
				Optional: true, ElementType: types.StringType,
				PlanModifiers:       []planmodifier.List{replaceList()},
				MarkdownDescription: "Further Kaniko flags, appended after the ones the provider sets, for example `[\"--snapshot-mode=redo\"]`. For flags the provider does not model.",
			},
			"executor": schema.StringAttribute{
				Optional: true, Computed: true,
				Validators:    []validator.String{stringvalidator.OneOf(executorNames...)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), replaceString()},
				MarkdownDescription: "How the image is built. `kaniko` (the default, from the provider's `default_executor`): Kaniko in a " +
					"pod in the cluster, for any Dockerfile. `direct`: no pod at all; the provider resolves the base image in its registry, " +
					"turns each `COPY` into a layer made from the build context, applies the configuration instructions and pushes the manifest " +
					"from the machine running Terraform, referencing the base image's layers instead of copying them. The result has the same " +
					"files and configuration as Kaniko's, is bit-for-bit reproducible (the same inputs give the same digest on any machine), " +
					"and takes a fraction of a second. Eligible Dockerfiles have a single stage with only `ARG`, `FROM`, `ENV`, `LABEL`, " +
					"`WORKDIR`, `COPY` (from the context, `--chown` with numeric ids, `--chmod`), `USER`, `EXPOSE`, `VOLUME`, `ENTRYPOINT`, " +
					"`CMD`, `STOPSIGNAL` and `SHELL`, and a local context; anything else (`RUN`, `ADD`, `COPY --from`, several stages, names " +
					"in `--chown` or `USER`, `ONBUILD` triggers in the base, `context_url`, `build_secret`) is refused at plan time, naming the " +
					"instruction and its line. The registry must be reachable from this machine (`registry_hosts`, `insecure_registries`, and " +
					"`registry_auth_secret` or the host's Docker config for credentials). `auto`: `direct` when the Dockerfile is eligible and " +
					"the registry answers, otherwise `kaniko`, with the reason in the log (`TF_LOG=INFO`). Changing it builds a new image.",
			},
			"creation_time": schema.StringAttribute{
				Optional: true, Computed: true,
				Default:       stringdefault.StaticString(defaultCreationTime),
				Validators:    []validator.String{newTimestampValidator()},
				PlanModifiers: []planmodifier.String{replaceString()},
				MarkdownDescription: "Creation time written into reproducible images (direct builds, and the history labels of `reproducible` " +
					"Kaniko builds), as RFC 3339. Fixed, so that the same inputs give the same digest. Defaults to `" + defaultCreationTime + "`, " +
					"as Kaniko's `--reproducible`; set it to a commit time if tools should show something meaningful.",
			},
			"reproducible": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				PlanModifiers: []planmodifier.Bool{replaceBool()},
				MarkdownDescription: "Build an image that depends only on its inputs: Kaniko runs with `--reproducible` (file times and the image's " +
					"creation time set to the Unix epoch), and the build history labels leave out the wall-clock time and the provider version. " +
					"Measured on the study's image: about 4x slower with Kaniko (build total 11 to 12 s instead of about 3 s), because Kaniko " +
					"re-tars every layer, base layers included. Defaults to `false`.",
			},
			"triggers": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				PlanModifiers:       []planmodifier.Map{replaceMap()},
				MarkdownDescription: "Arbitrary values; any change forces a new build. Use it for inputs the provider cannot see, such as the content behind `context_url`.",
			},

			// Optional: how and where the build runs.
			"registry_auth_secret": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Name of a Secret in the build namespace holding a Docker config " +
					"(type `kubernetes.io/dockerconfigjson`, or a `config.json` key), mounted where Kaniko reads registry credentials. " +
					"The build fails at once if it is missing.",
			},
			"context_credentials_secret": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Name of a Secret in the build namespace whose keys become environment variables of the executor, " +
					"for the credentials Kaniko needs to fetch `context_url`: `GIT_USERNAME` and `GIT_PASSWORD` (or `GIT_TOKEN`) for git, " +
					"`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` for S3, `AZURE_STORAGE_ACCESS_KEY` for Azure Blob Storage. " +
					"The values never appear in the URL, the pod spec, the image or Terraform state.",
			},
			"insecure": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Push and pull over plain HTTP (`--insecure`, `--insecure-pull`).",
			},
			"skip_tls_verify": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Accept any TLS certificate when pushing and pulling (`--skip-tls-verify`, `--skip-tls-verify-pull`).",
			},
			"namespace": schema.StringAttribute{
				Optional: true, Computed: true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Namespace of the build pod. Defaults to the provider's `namespace`.",
			},
			"service_account": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Service account of the build pod, for example one bound to cloud registry credentials " +
					"(workload identity). Its API token is not mounted unless `automount_service_account_token` is set.",
			},
			"automount_service_account_token": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Mount the service account's Kubernetes API token into the build pod. A build needs none, and every " +
					"`RUN` step could read it, so it is off; turn it on only for credential helpers that exchange it. Defaults to `false`.",
			},
			"node_selector": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Node labels the build pod must be scheduled on.",
			},
			"kaniko_image": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Kaniko executor image for this build. Defaults to the provider's `kaniko_image`. " +
					"Changing it does not rebuild the image; add it to `triggers` if it should.",
			},
			"delete_on_destroy": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Delete the manifest from the registry when the resource is destroyed, when nothing else uses it: " +
					"while a tag other than this resource's own (and its history tags) points at it, or at an image index that lists it, only " +
					"this resource's tags are removed. The image of a multi-platform build is an index: the platform images it lists are deleted " +
					"with it, except those another tag or index uses. An image a replacement pushed in the same apply (the same digest, as a " +
					"reproducible build gives with `create_before_destroy` after a taint or a change of `tags`) stays, and loses only the tags " +
					"of this resource that the replacement did not push. Either case is a warning. Where the registry does not delete tags, the " +
					"tags it kept stay, count as another user of the image, and keep it when its last resource is destroyed; the warning names " +
					"them. A manifest that is already gone counts as deleted. Defaults to `false`.",
			},
			"keep_build_pod": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Leave the build pod in the cluster after the build, for debugging. Defaults to `false`.",
			},

			// Computed.
			"id": schema.StringAttribute{
				Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Same as `image_ref`.",
			},
			"digest": schema.StringAttribute{
				Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Digest of the pushed manifest (or index), `sha256:<64 hex digits>`. Known at plan when an existing image is replaced by a direct build (the plan computes the image without pushing it; the apply must reach the same digest, on the same base, from the same context).",
			},
			"image_ref": schema.StringAttribute{
				Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The image pinned by digest, `repository@sha256:...`: what a Deployment should run. Known at plan when `digest` is.",
			},
			"tagged_refs": schema.ListAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "`repository:tag` for every tag that points at `digest`. When a tag is moved to another image " +
					"outside Terraform, it drops out of this list, and the next apply points the tag back at `digest` (an in-place update " +
					"that pushes no layers) instead of rebuilding.",
			},
			"context_sha256": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "SHA-256 of the build context exactly as it was archived for the build. Every refresh hashes the " +
					"`context_dir` again: a different hash plans a new build, with this attribute unknown until the build has read the context. " +
					"For `context_url`, a hash of the URL.",
			},
			"image_size_bytes": schema.Int64Attribute{
				Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				MarkdownDescription: "Compressed size of the image (config and layers) as recorded in the manifest; for an index of " +
					"several `platforms`, the sum of its images'. Null when the registry cannot be reached from the machine running " +
					"Terraform (see the provider's `registry_hosts`).",
			},
			"platform_digests": schema.MapAttribute{
				Computed: true, ElementType: types.StringType,
				PlanModifiers:       []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "For an image of several `platforms`: each platform's image digest. Null for one platform.",
			},
			"platform_sizes_bytes": schema.MapAttribute{
				Computed: true, ElementType: types.Int64Type,
				PlanModifiers:       []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "For an image of several `platforms`: each platform's compressed image size. Null for one platform.",
			},
			"build_pod": schema.StringAttribute{
				Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "`namespace/name` of the pod that built the image.",
			},
			"executor_used": schema.StringAttribute{
				Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The executor that built the image, `kaniko` or `direct`. Known at plan time unless `executor = \"auto\"` " +
					"and the Dockerfile is eligible, when only the build finds out whether the registry answers.",
			},
			"sbom_digest": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Digest of the attached SBOM's manifest (see `sbom`); null without the block.",
			},
			"provenance_digest": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Digest of the attached provenance's manifest (see `provenance`); null without the block.",
			},
			"signature_digest": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Digest of the image's cosign signature image (`<repository>:sha256-<hex>.sig`) holding this key's signature (see `signing`); null without the block.",
			},
			"base_image_digest": schema.StringAttribute{
				Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Digest of the base image's manifest the image was built on: exact for direct builds; for Kaniko builds, " +
					"the final stage's `FROM` as the registry resolved it right after the build. Null when it cannot be known (`FROM scratch`, " +
					"a registry this machine cannot reach).",
			},
			"timings": schema.MapAttribute{
				Computed: true, ElementType: types.Float64Type,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Seconds spent in each phase of the build: `queued` (waiting for a free build slot), " +
					"`executor_start` (pod creation until Kaniko runs: scheduling, executor image pull, container start), " +
					"`context_upload`, `base_image_pull`, `build`, `push` and `total` (pod creation until Kaniko exited). " +
					"The Kaniko phases come from its timestamped log; a phase that did not happen is absent.",
			},
		},
		Blocks: map[string]schema.Block{
			"cache": schema.SingleNestedBlock{
				MarkdownDescription: "Kaniko's layer cache, kept in a registry repository.",
				Attributes: map[string]schema.Attribute{
					"enabled": schema.BoolAttribute{Optional: true, MarkdownDescription: "Use the cache (`--cache`)."},
					"repo": schema.StringAttribute{
						Optional: true, Validators: []validator.String{newRepositoryValidator()},
						MarkdownDescription: "Repository holding cached layers (`--cache-repo`). Defaults to `<repository>/cache`.",
					},
					"ttl": schema.StringAttribute{
						Optional: true, Validators: []validator.String{newDurationValidator()},
						MarkdownDescription: "How long cached layers stay valid, as a Go duration such as `168h` (`--cache-ttl`).",
					},
					"base_image_claim": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "PersistentVolumeClaim in the build namespace holding base images cached by Kaniko's warmer " +
							"(`/kaniko/warmer --cache-dir=/cache --image=...`). It is mounted read-only at `/cache` (`--cache-dir`), " +
							"so base images are read from it instead of being downloaded on every build.",
					},
				},
			},
			"sbom": schema.SingleNestedBlock{
				MarkdownDescription: "Attaches a software bill of materials to the image as an OCI referrer (a separate manifest whose subject is the image, " +
					"so the image's digest is the same with and without it; on registries without the referrers API, the standard `sha256-<hex>` " +
					"fallback tag lists it). The SBOM is read from the pushed image itself, for both executors (a direct build's layers from the " +
					"provider's layer cache on this machine: the uncompressed tars the build or its plan kept for a day, each checked against the image's " +
					"diff ID as it is read, else the compressed layers, checked against their digests): the files the build added (the layers " +
					"above the base's: path, SHA-256 and SHA-1, mode, symlink target), the Go modules of Go binaries among them, the Debian or Alpine " +
					"packages of the final image's package database, and the base image as a package with its digest (related to the base's own SBOM " +
					"when one is attached to it). It carries no time but the image's creation time, so a direct build's SBOM is reproducible. For an " +
					"image index, the index gets one SBOM of every platform and each platform's image its own. Changing the block, or deleting the " +
					"attachment out of band, attaches it again in place, without a build. Needs the registry reachable from the machine running " +
					"Terraform (see `registry_hosts`).",
				Attributes: map[string]schema.Attribute{
					"format": schema.StringAttribute{
						Optional: true, Validators: []validator.String{stringvalidator.OneOf("spdx-json", "cyclonedx-json")},
						MarkdownDescription: "`spdx-json` (SPDX 2.3, the default) or `cyclonedx-json` (CycloneDX 1.6).",
					},
				},
			},
			"provenance": schema.SingleNestedBlock{
				MarkdownDescription: "Attaches SLSA v1 provenance to the image as an OCI referrer (an in-toto statement, artifact type " +
					"`application/vnd.in-toto+json`): the builder (this provider and its version), the build type (per executor), the external " +
					"parameters (repository, tags, the Dockerfile's SHA-256, target, platforms, the names of the build arguments), and the resolved " +
					"dependencies (the base image's digest, `context_sha256`, the Kaniko executor image's digest where the node reported it). Build " +
					"secrets and context credentials never appear. Start and finish times are recorded only for builds that are not reproducible, " +
					"so a direct build's provenance is reproducible. Changing the block, or deleting the attachment out of band, attaches it again " +
					"in place, without a build.",
				Attributes: map[string]schema.Attribute{
					"mode": schema.StringAttribute{
						Optional: true, Validators: []validator.String{stringvalidator.OneOf("min", "max")},
						MarkdownDescription: "`min` (the default) names the build arguments; `max` also records their values (which are visible " +
							"in the image's history anyway) and the executor image.",
					},
				},
			},
			"signing": schema.SingleNestedBlock{
				// A block's attributes cannot be Required without requiring
				// the block: one key is required when the block is set.
				Validators: []validator.Object{exactlyOneOf{"key_secret", "kms_key"}},
				MarkdownDescription: "Signs the image, its SBOM and its provenance with a key the cluster holds, in process and cosign-compatible: " +
					"`cosign verify --key cosign.pub --insecure-ignore-tlog` accepts the image (signatures are stored as cosign stores them, in " +
					"`<repository>:sha256-<hex>.sig`, beside any other signer's). No transparency log is used (air-gapped clusters cannot reach " +
					"one). The key is read from the Secret for each signing and never written to state, plans or logs. A changed `key_secret`, " +
					"or a signature image deleted out of band, signs again in place, without a build. Verify with the " +
					"`onesbuild_image_verification` data source. Set one of `key_secret` and `kms_key`.",
				Attributes: map[string]schema.Attribute{
					"key_secret": schema.StringAttribute{
						Optional: true, Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
						MarkdownDescription: "Name of a Secret in the build namespace holding a cosign private key under `cosign.key` and its " +
							"password under `cosign.password`, as `cosign generate-key-pair k8s://<namespace>/<name>` writes it. The provider's " +
							"identity needs `get` on it.",
					},
					"kms_key": schema.StringAttribute{
						Optional: true, Validators: []validator.String{stringCheck{"<scheme>://<key>", signing.ValidKMSReference}},
						MarkdownDescription: "A key a key management service holds, as cosign's `--key` names it: `<scheme>://<key>`, for " +
							"example `hashivault://image-signing`. The key never leaves the KMS: the provider reaches it through sigstore's KMS " +
							"plugin protocol, running `sigstore-kms-<scheme>` from the PATH of the machine running Terraform for each signing, " +
							"so any KMS with such a plugin works, inside an air gap too. No cloud SDK is built in: cosign's built-in " +
							"`awskms`, `gcpkms`, `azurekms` and `hashivault` need their plugin installed under that name.",
					},
				},
			},
			"retention": schema.SingleNestedBlock{
				MarkdownDescription: "Keeps the repository from growing forever. With retention on, every build also pushes a history tag " +
					"`onesbuild-<key>-<UTC time to the nanosecond>` (the key identifies this repository and tag list), and after each successful build the " +
					"images of this resource beyond the newest `keep_last` are deleted from the registry, counted by digest: a build that gives a " +
					"digest again (a taint or a revert of a reproducible build) counts once, at its newest build. Tags pushed by anyone else are never " +
					"considered, and neither the new image nor whatever another tag points at (or an image index it points at lists) is deleted; " +
					"an old index goes with the platform images only it used; the tags are read again right before each delete. When the " +
					"resource is destroyed (also when a change of `tags` replaces it), its history tags are handed over (`onesbuild-orphan-...`) " +
					"and the next build with retention in the repository adopts and prunes them; with `delete_on_destroy` its image is deleted " +
					"and only the older builds are handed over. A replacement with the same repository and tags has the same history: when it " +
					"has built first (`create_before_destroy`), nothing is handed over. Needs the registry reachable from the machine running " +
					"Terraform (see `registry_hosts`) and deletes enabled in the registry.",
				Attributes: map[string]schema.Attribute{
					"keep_last": schema.Int64Attribute{
						Optional: true, Validators: []validator.Int64{int64validator.AtLeast(1)},
						MarkdownDescription: "How many of this resource's images (distinct digests) to keep, the current one included.",
					},
					"dry_run": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: "Only log what would be deleted.",
					},
				},
			},
			"resources": schema.SingleNestedBlock{
				MarkdownDescription: "Compute resources of the executor container, as Kubernetes quantities. Without this block the executor " +
					"requests `cpu = \"500m\"`, `memory = \"512Mi\"` and `ephemeral-storage = \"1Gi\"` and is limited to `memory = \"2Gi\"` " +
					"and `ephemeral-storage = \"16Gi\"`: the study's figures for requests, which the feasibility benchmark's measured peaks stay " +
					"within for memory; room on the node's disk for the unpacked base image, the context and the new layers (the study's build " +
					"wrote 130 MiB into its container; a build writes about three times its context there: the context, the copied files and the new layer); caps against runaway builds; and no CPU cap, since throttling only " +
					"makes builds slower. A block replaces these defaults as a whole.",
				Attributes: map[string]schema.Attribute{
					"requests": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{quantityMapValidator{}},
						MarkdownDescription: "Requests, for example `{ cpu = \"500m\", memory = \"512Mi\" }`."},
					"limits": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{quantityMapValidator{}},
						MarkdownDescription: "Limits, for example `{ memory = \"1Gi\" }`."},
				},
			},
			"tolerations": schema.ListNestedBlock{
				MarkdownDescription: "Tolerations of the build pod, as in a pod spec.",
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"key":      schema.StringAttribute{Optional: true, MarkdownDescription: "Taint key; empty with `Exists` matches every taint."},
						"operator": schema.StringAttribute{Optional: true, Validators: []validator.String{stringvalidator.OneOf("Equal", "Exists")}, MarkdownDescription: "`Equal` (default) or `Exists`."},
						"value":    schema.StringAttribute{Optional: true, MarkdownDescription: "Taint value for `Equal`."},
						"effect": schema.StringAttribute{Optional: true, Validators: []validator.String{stringvalidator.OneOf("NoSchedule", "PreferNoSchedule", "NoExecute")},
							MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`; empty matches all."},
						"toleration_seconds": schema.Int64Attribute{Optional: true, MarkdownDescription: "For `NoExecute`: how long the pod stays bound after the taint appears."},
					},
				},
			},
			"build_secret": schema.ListNestedBlock{
				MarkdownDescription: "A secret for `RUN --mount=type=secret,id=<id>` steps, taken from a key of a Kubernetes Secret in the " +
					"build namespace. It is mounted into the build pod as a file (Kaniko's `--secret`), so its value never appears in the " +
					"image, its history, the pod spec or Terraform state. Kaniko builds only.",
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"id":          schema.StringAttribute{Required: true, MarkdownDescription: "The id the Dockerfile names in `--mount=type=secret,id=...`."},
						"secret_name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the Secret in the build namespace."},
						"key":         schema.StringAttribute{Required: true, MarkdownDescription: "Key of the Secret holding the value."},
					},
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{
				Create:            true,
				CreateDescription: "How long a build may take, queueing included, as a duration such as `30m`. Defaults to `" + defaultCreateTimeout + "`.",
			}),
		},
	}
}
