package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// Defaults documented in the schema.
const (
	defaultNamespace            = "default"
	defaultMaxConcurrentBuilds  = 4
	defaultRegistryRetries      = 3
	defaultUnschedulableTimeout = "1m"
)

var _ provider.Provider = (*onesbuildProvider)(nil)

// Cluster gives the provider its Kubernetes clients. Tests pass a fake.
type Cluster interface {
	Clients() (kubernetes.Interface, kaniko.Attacher, error)
}

// Options changes how the provider reaches the outside world; the zero
// value is what Terraform runs.
type Options struct {
	// Cluster, when set, replaces the cluster connection from the
	// provider configuration.
	Cluster Cluster
	// Getenv reads environment variables; nil means os.Getenv.
	Getenv func(string) string
}

type onesbuildProvider struct {
	version string
	opts    Options
}

// New returns a constructor of the provider, as providerserver expects.
func New(version string) func() provider.Provider {
	return NewWithOptions(version, Options{})
}

// NewWithOptions is New with Options, for tests.
func NewWithOptions(version string, opts Options) func() provider.Provider {
	return func() provider.Provider { return &onesbuildProvider{version: version, opts: opts} }
}

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
					"(`--insecure-registry`, `--skip-tls-verify-registry`) and by the provider when it reads or deletes images.",
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
					"`registry_hosts` takes precedence for a registry named in both.",
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

// providerData is what resources receive from Configure.
type providerData struct {
	version            string
	pushRetry          int
	imageDownloadRetry int
	// unschedulableTimeout is negative to wait for the create timeout.
	unschedulableTimeout time.Duration
	namespace            string
	defaultExecutor      string
	kanikoImage          string
	insecureRegistries   []string
	registry             *registry.Client
	queue                *build.Queue
	cluster              Cluster
}

func (p *onesbuildProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{
		version:         p.version,
		namespace:       stringOr(m.Namespace, defaultNamespace),
		kanikoImage:     stringOr(m.KanikoImage, build.DefaultKanikoImage),
		defaultExecutor: stringOr(m.DefaultExecutor, build.ExecutorKaniko),
	}
	// Values that come from other resources are unknown until those are
	// applied. Planning must still work, so an unknown value counts as
	// unset here; at apply time every value is known.
	data.insecureRegistries = knownStrings(ctx, m.InsecureRegistries, &resp.Diagnostics)
	hosts := knownStringMap(ctx, m.RegistryHosts, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	data.registry = &registry.Client{Hosts: hosts, Insecure: data.insecureRegistries}
	limit := intOr(m.MaxConcurrentBuilds, defaultMaxConcurrentBuilds)
	data.queue = build.NewQueue(limit)
	data.pushRetry, data.imageDownloadRetry = intOr(m.PushRetry, defaultRegistryRetries), intOr(m.ImageDownloadRetry, defaultRegistryRetries)
	data.unschedulableTimeout = mustDuration(stringOr(m.UnschedulableTimeout, defaultUnschedulableTimeout)) // validated in the schema
	if data.unschedulableTimeout == 0 {
		data.unschedulableTimeout = -1
	}

	if p.opts.Cluster != nil {
		data.cluster = p.opts.Cluster
	} else {
		conn := kube.ConnectionOptions{
			ConfigContext:        m.ConfigContext.ValueString(),
			Host:                 m.Host.ValueString(),
			Token:                m.Token.ValueString(),
			ClusterCACertificate: m.ClusterCACertificate.ValueString(),
			ClientCertificate:    m.ClientCertificate.ValueString(),
			ClientKey:            m.ClientKey.ValueString(),
			Insecure:             m.Insecure.ValueBool(),
			UserAgent:            "terraform-provider-onesbuild/" + p.version,
		}
		if v := m.ConfigPath.ValueString(); v != "" {
			conn.ConfigPaths = []string{v}
		}
		if m.Exec != nil && !m.Exec.Command.IsNull() && !m.Exec.Command.IsUnknown() {
			conn.Exec = &kube.ExecOptions{
				APIVersion: m.Exec.APIVersion.ValueString(),
				Command:    m.Exec.Command.ValueString(),
				Args:       knownStrings(ctx, m.Exec.Args, &resp.Diagnostics),
				Env:        knownStringMap(ctx, m.Exec.Env, &resp.Diagnostics),
			}
		}
		getenv := p.opts.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		// The connection is resolved on first use: planning and reading
		// images must work without a reachable cluster.
		data.cluster = &lazyCluster{opts: conn, getenv: getenv}
	}
	if forwards := knownStringMap(ctx, m.RegistryPortForwards, &resp.Diagnostics); len(forwards) > 0 {
		data.registry.Forwards = map[string]registry.Forwarder{}
		for name, target := range forwards {
			ref, err := parseServiceRef(target, name)
			if err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("registry_port_forwards").AtMapKey(name), "Invalid Port-Forward Target", err.Error())
				continue
			}
			data.registry.Forwards[name] = &lazyForward{cluster: data.cluster, ref: ref}
		}
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

// serviceRef is a Service port: registry_port_forwards' value.
type serviceRef struct {
	namespace, name string
	port            int
}

// parseServiceRef reads "namespace/service[:port]"; without a port, the
// registry name's port is used.
func parseServiceRef(target, registryName string) (serviceRef, error) {
	ns, rest, ok := strings.Cut(target, "/")
	if !ok || ns == "" || rest == "" {
		return serviceRef{}, fmt.Errorf("%q is not namespace/service or namespace/service:port", target)
	}
	svc, portStr, hasPort := strings.Cut(rest, ":")
	if !hasPort {
		_, portStr, hasPort = strings.Cut(registryName, ":")
	}
	if !hasPort {
		return serviceRef{}, fmt.Errorf("neither %q nor the registry name %q gives a port; write namespace/service:port", target, registryName)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return serviceRef{}, fmt.Errorf("port %q of %q is not a port number", portStr, target)
	}
	return serviceRef{namespace: ns, name: svc, port: port}, nil
}

// lazyForward starts a port-forward through the provider's cluster
// connection on first use.
type lazyForward struct {
	cluster Cluster
	ref     serviceRef

	mu sync.Mutex
	fw *kube.ServiceForward
}

func (l *lazyForward) Address(ctx context.Context) (string, error) {
	l.mu.Lock()
	if l.fw == nil {
		rc, ok := l.cluster.(interface{ RESTConfig() (*rest.Config, error) })
		if !ok {
			l.mu.Unlock()
			return "", fmt.Errorf("the cluster connection cannot port-forward")
		}
		cfg, err := rc.RESTConfig()
		if err != nil {
			l.mu.Unlock()
			return "", err
		}
		client, _, err := l.cluster.Clients()
		if err != nil {
			l.mu.Unlock()
			return "", err
		}
		l.fw = &kube.ServiceForward{Config: cfg, Client: client, Namespace: l.ref.namespace, Service: l.ref.name, Port: l.ref.port}
	}
	fw := l.fw
	l.mu.Unlock()
	return fw.Address(ctx)
}

func (p *onesbuildProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewImageResource}
}

func (p *onesbuildProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewImageDataSource}
}

// providerDataFrom unpacks what Configure handed to a resource or data
// source; nil until the provider is configured.
func providerDataFrom(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil
	}
	p, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider.", data))
	}
	return p
}

// lazyCluster connects on first use and remembers the outcome.
type lazyCluster struct {
	opts   kube.ConnectionOptions
	getenv func(string) string

	once     sync.Once
	cfg      *rest.Config
	client   kubernetes.Interface
	attacher kaniko.Attacher
	err      error
}

// RESTConfig returns the resolved connection, for port-forwards.
func (c *lazyCluster) RESTConfig() (*rest.Config, error) {
	_, _, err := c.Clients()
	return c.cfg, err
}

func (c *lazyCluster) Clients() (kubernetes.Interface, kaniko.Attacher, error) {
	c.once.Do(func() {
		var cfg *rest.Config
		cfg, c.err = kube.RESTConfig(c.opts, c.getenv)
		if c.err != nil {
			return
		}
		var cs *kubernetes.Clientset
		cs, c.err = kubernetes.NewForConfig(cfg)
		if c.err != nil {
			return
		}
		c.cfg, c.client, c.attacher = cfg, cs, &kube.PodAttacher{Config: cfg, Client: cs}
	})
	return c.client, c.attacher, c.err
}

// elementsOf is a list or set of strings, as knownStrings reads them.
type elementsOf interface {
	IsNull() bool
	IsUnknown() bool
	ElementsAs(ctx context.Context, target any, allowUnhandled bool) diag.Diagnostics
}

// knownStrings reads a list or set of strings; null or unknown gives nil,
// and so do unknown elements.
func knownStrings(ctx context.Context, v elementsOf, diags *diag.Diagnostics) []string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	var values []types.String
	diags.Append(v.ElementsAs(ctx, &values, false)...)
	var out []string
	for _, e := range values {
		if !e.IsNull() && !e.IsUnknown() {
			out = append(out, e.ValueString())
		}
	}
	return out
}

// knownStringMap reads a map of strings; null or unknown gives an empty
// map, and unknown values are left out.
func knownStringMap(ctx context.Context, v types.Map, diags *diag.Diagnostics) map[string]string {
	out := map[string]string{}
	if v.IsNull() || v.IsUnknown() {
		return out
	}
	var values map[string]types.String
	diags.Append(v.ElementsAs(ctx, &values, false)...)
	for k, e := range values {
		if !e.IsNull() && !e.IsUnknown() {
			out[k] = e.ValueString()
		}
	}
	return out
}

func intOr(v types.Int64, def int) int {
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	return int(v.ValueInt64())
}

func stringOr(v types.String, def string) string {
	if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
		return def
	}
	return v.ValueString()
}
