// Package registry reads and deletes images in an OCI registry from the
// machine that runs Terraform. Repositories are named as the cluster sees
// them (registry.kube-system.svc.cluster.local:5000/app); a host map turns
// those names into addresses reachable from here (localhost:5000), so
// Read, verification and delete work for in-cluster registries.
package registry
