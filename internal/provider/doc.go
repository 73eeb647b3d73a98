// Package provider is the Terraform glue of the onesbuild provider: it
// declares the schemas, maps configuration to the engine's requests
// (packages build, buildcontext, kube and registry) and the engine's
// results to state, and turns engine errors into diagnostics.
package provider
