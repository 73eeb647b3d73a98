package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

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
	// pushed are the images and history keys this process pushed, so
	// that deleting the resource a replacement took over keeps what the
	// replacement uses.
	pushed  *pushedImages
	cluster kube.Cluster
	// contextHashes answers a refresh of an unchanged context directory
	// without reading its files.
	contextHashes *buildcontext.HashCache
	// predictions are the digests plans showed, for the apply's plan.
	predictions *predictionStore
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
		contextHashes:   sharedContextHashes,
		predictions:     sharedPredictions,
	}
	// Values that come from other resources are unknown until those are
	// applied. Planning must still work, so an unknown value counts as
	// unset here; at apply time every value is known.
	data.insecureRegistries = knownList(m.InsecureRegistries)
	hosts := knownMap(m.RegistryHosts)
	data.registry = &registry.Client{Hosts: hosts, Insecure: data.insecureRegistries}
	limit := intOr(m.MaxConcurrentBuilds, defaultMaxConcurrentBuilds)
	data.queue = build.NewQueue(limit)
	data.pushed = &pushedImages{}
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
				Args:       knownList(m.Exec.Args),
				Env:        knownMap(m.Exec.Env),
			}
		}
		getenv := p.opts.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		// The connection is resolved on first use: planning and reading
		// images must work without a reachable cluster.
		data.cluster = &kube.Connection{Options: conn, Getenv: getenv}
	}
	if forwards := knownMap(m.RegistryPortForwards); len(forwards) > 0 {
		data.registry.Forwards = map[string]registry.Forwarder{}
		for name, target := range forwards {
			ref, err := parseServiceRef(target, name)
			if err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("registry_port_forwards").AtMapKey(name), "Invalid Port-Forward Target", err.Error())
				continue
			}
			data.registry.Forwards[name] = &kube.LazyServiceForward{Cluster: data.cluster, Namespace: ref.namespace, Service: ref.name, Port: ref.port}
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
