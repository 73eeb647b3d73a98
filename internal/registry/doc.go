// Package registry reads, tags and deletes images in an OCI registry from
// the machine that runs Terraform. Repositories are named as the cluster
// sees them (registry.kube-system.svc.cluster.local:5000/app); a host map
// or a port-forward turns those names into addresses reachable from here
// (localhost:5000), so Read, verification and delete work for in-cluster
// registries, with the credentials stored under the cluster's name.
//
// Errors say who answered: ErrNotFound only when a registry says it does
// not have the manifest (its error code, or a 404 from an address that
// answers /v2/ as a registry does), ErrUnreachable when no registry could
// be asked, so that callers drop an image from state only when it is
// really gone. Plain HTTP is spoken only to registries listed as
// insecure and to port-forwards' local ends (ErrPlainHTTP otherwise).
//
// Retention (PruneHistory, ReleaseHistory) finds a resource's builds by
// the history tags pushed with them, deletes those beyond the newest few,
// and never deletes a manifest that another tag, or a kept build, points
// at, or that an index they point at lists. DeleteOwned deletes one
// resource's image, and an index's platform images with it, on the same
// terms.
package registry
