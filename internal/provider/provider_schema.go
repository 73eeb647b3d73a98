package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

type providerModel struct {
	ConfigPath           types.String `tfsdk:"config_path"`
	ConfigContext        types.String `tfsdk:"config_context"`
	Host                 types.String `tfsdk:"host"`
	Token                types.String `tfsdk:"token"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ClientKey            types.String `tfsdk:"client_key"`
	Insecure             types.Bool   `tfsdk:"insecure"`
	Exec                 *execModel   `tfsdk:"exec"`
	Namespace            types.String `tfsdk:"namespace"`
	KanikoImage          types.String `tfsdk:"kaniko_image"`
	InsecureRegistries   types.Set    `tfsdk:"insecure_registries"`
	RegistryHosts        types.Map    `tfsdk:"registry_hosts"`
	MaxConcurrentBuilds  types.Int64  `tfsdk:"max_concurrent_builds"`
	PushRetry            types.Int64  `tfsdk:"push_retry"`
	ImageDownloadRetry   types.Int64  `tfsdk:"image_download_retry"`
	UnschedulableTimeout types.String `tfsdk:"unschedulable_timeout"`
	DefaultExecutor      types.String `tfsdk:"default_executor"`
	RegistryPortForwards types.Map    `tfsdk:"registry_port_forwards"`
}

type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

func (p *onesbuildProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "onesbuild"
	resp.Version = p.version
}

func (p *onesbuildProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The onesbuild provider builds container images inside a Kubernetes cluster with the " +
			"[Kaniko](https://github.com/osscontainertools/kaniko) executor (the maintained community fork; the original " +
			"GoogleContainerTools project was archived in June 2025) and pushes them to a registry, so that other resources can " +
			"deploy the exact digest that was built. Dockerfiles that only copy files onto a base image can also be built " +
			"directly, without a pod and reproducibly (see `onesbuild_image`'s `executor`).\n\n" +
			"The cluster connection works like the `hashicorp/kubernetes` provider's: a kubeconfig file and context, " +
			"explicit credentials, an exec credential plugin, or the pod's service account when Terraform runs in a cluster.",
		Attributes: map[string]schema.Attribute{
			"config_path": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Path to a kubeconfig file. When unset, `KUBE_CONFIG_PATH`, `KUBE_CONFIG_PATHS` or `KUBECONFIG` is read " +
					"(a path list, like `KUBECONFIG`). `~` is expanded.",
			},
			"config_context": schema.StringAttribute{Optional: true, MarkdownDescription: "Context to use from the kubeconfig. Defaults to its current context."},
			"host":           schema.StringAttribute{Optional: true, MarkdownDescription: "Kubernetes API server URL, overriding the kubeconfig's."},
			"token":          schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Bearer token for the API server."},
			"cluster_ca_certificate": schema.StringAttribute{
				Optional: true, MarkdownDescription: "PEM-encoded CA certificate of the API server.",
			},
			"client_certificate": schema.StringAttribute{Optional: true, MarkdownDescription: "PEM-encoded client certificate for TLS authentication."},
			"client_key":         schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "PEM-encoded private key of `client_certificate`."},
			"insecure":           schema.BoolAttribute{Optional: true, MarkdownDescription: "Skip verification of the API server's certificate. For test clusters only."},
			"namespace": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Namespace build pods run in unless a resource sets its own. Defaults to `" + defaultNamespace + "`.",
			},
			"kaniko_image": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Kaniko executor image for every build unless a resource sets its own. Defaults to `" + build.DefaultKanikoImage +
					"`. In air-gapped clusters, point it at a copy in your own registry.",
			},
			"insecure_registries": schema.SetAttribute{
				Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Registries (`host[:port]`) spoken to over plain HTTP without TLS verification, both by Kaniko " +
					"(`--insecure-registry`, `--skip-tls-verify-registry`) and by the provider when it reads, pushes or deletes images. Every " +
					"other registry is spoken to over HTTPS only, also on a loopback or private address, where the registry library would " +
					"otherwise fall back to plain HTTP.",
			},
			"registry_hosts": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Maps a registry name as the cluster sees it (for example `registry.kube-system.svc.cluster.local:5000`) " +
					"to an address the machine running Terraform can reach (for example `localhost:5000`). The provider uses it to read, " +
					"verify and delete images; builds keep pushing to the cluster's name.",
			},
			"registry_port_forwards": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				Validators: []validator.Map{mapvalidator.ValueStringsAre(newServiceRefValidator())},
				MarkdownDescription: "Reaches registries that only the cluster can reach through the Kubernetes API, as `kubectl port-forward` " +
					"does: maps a registry name as the cluster sees it (for example `registry.kube-system.svc.cluster.local:5000`) to the " +
					"Service in front of it, as `namespace/service` (the registry name's port is the Service port) or `namespace/service:port`. " +
					"The provider forwards a local port to a ready pod behind the Service on first use, for direct builds, Read, drift, " +
					"retention and the data source. Needs `get` on services, `list` on pods and `create` on `pods/portforward` in that namespace. " +
					"`registry_hosts` takes precedence for a registry named in both. Credentials of `registry_auth_secret` for the registry's " +
					"name apply through the forward.",
			},
			"max_concurrent_builds": schema.Int64Attribute{
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
				MarkdownDescription: "How many builds this provider runs in the cluster at once; further builds wait in a queue, and the wait " +
					"counts against their create timeout. Defaults to " + itoa(defaultMaxConcurrentBuilds) + ".",
			},
			"push_retry": schema.Int64Attribute{
				Optional: true, Validators: []validator.Int64{int64validator.Between(0, 10)},
				MarkdownDescription: "How often Kaniko retries a failed push (`--push-retry`), with growing pauses, before the build fails. Defaults to " + itoa(defaultRegistryRetries) + ".",
			},
			"default_executor": schema.StringAttribute{
				Optional: true, Validators: []validator.String{stringvalidator.OneOf(executorNames...)},
				MarkdownDescription: "Executor of every `onesbuild_image` that sets none: `kaniko`, `direct` or `auto` (see the resource's `executor`). " +
					"Defaults to `kaniko`.",
			},
			"unschedulable_timeout": schema.StringAttribute{
				Optional: true, Validators: []validator.String{newDurationValidator()},
				MarkdownDescription: "How long a build pod may wait for a node (Kubernetes reports it `Unschedulable`) before the build fails, " +
					"as a Go duration such as `10m`. `0s` waits until the build's create timeout, for build pools that a cluster " +
					"autoscaler grows on demand. Defaults to `" + defaultUnschedulableTimeout + "`: long enough for other builds to finish " +
					"and free their capacity, short enough that a node selector no node matches fails quickly.",
			},
			"image_download_retry": schema.Int64Attribute{
				Optional: true, Validators: []validator.Int64{int64validator.Between(0, 10)},
				MarkdownDescription: "How often Kaniko retries a failed base image download (`--image-download-retry`). Defaults to " + itoa(defaultRegistryRetries) + ".",
			},
		},
		Blocks: map[string]schema.Block{
			"exec": schema.SingleNestedBlock{
				MarkdownDescription: "A client-go credential plugin that prints an `ExecCredential`, such as `aws eks get-token`.",
				Attributes: map[string]schema.Attribute{
					"api_version": schema.StringAttribute{Optional: true, MarkdownDescription: "API version of the `ExecCredential`, for example `client.authentication.k8s.io/v1beta1`."},
					"command":     schema.StringAttribute{Optional: true, MarkdownDescription: "Command to run."},
					"args":        schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Arguments of the command."},
					"env":         schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Environment variables for the command."},
				},
			},
		},
	}
}

// executorNames are the values of executor and default_executor.
var executorNames = []string{build.ExecutorKaniko, build.ExecutorDirect, build.ExecutorAuto}
