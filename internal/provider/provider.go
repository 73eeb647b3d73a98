package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// Defaults documented in the schema.
const (
	defaultNamespace            = "default"
	defaultMaxConcurrentBuilds  = 4
	defaultRegistryRetries      = 3
	defaultUnschedulableTimeout = "1m"
)

var (
	_ provider.Provider              = (*onesbuildProvider)(nil)
	_ provider.ProviderWithFunctions = (*onesbuildProvider)(nil)
)

// Options changes how the provider reaches the outside world; the zero
// value is what Terraform runs.
type Options struct {
	// Cluster, when set, replaces the cluster connection from the
	// provider configuration.
	Cluster kube.Cluster
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

func (p *onesbuildProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewImageResource}
}

// Functions are the provider's functions (Terraform 1.8+, OpenTofu 1.7+).
func (p *onesbuildProvider) Functions(context.Context) []func() function.Function {
	return []func() function.Function{NewContextHashFunction, NewImageRefFunction, NewParseImageRefFunction}
}

func (p *onesbuildProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewImageDataSource, NewVerificationDataSource}
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
