// Package testcluster brings up what the acceptance tests, the demo and
// the feasibility benchmark run against: a kind cluster (through kind's
// Go library), a persistent local registry reachable from the host, from
// the nodes' container runtime and from pods under the study's names, and
// every image both need.
//
// It works without internet access. Each image comes from the first
// source that works: already present, pulled from a public registry or a
// configured mirror, or built from source (Go modules through the module
// proxy and Debian packages). Built outputs are cached under
// ~/.cache/onesbuild (ONESBUILD_CACHE), keyed by component and version,
// so a warm start takes seconds while an empty cache rebuilds everything.
package testcluster
