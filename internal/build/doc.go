// Package build runs one Kaniko build in a Kubernetes pod: it shapes the
// pod (PodFor, a pure function), creates it, streams the build context to
// the executor's stdin, follows the executor's log, waits for the result
// by watching the pod by name, reads the pushed digest from the container's
// termination message, measures each phase, and deletes the pod on every
// path out (success, failure, timeout, cancel).
//
// The package knows nothing about Terraform. Clients, the attacher and the
// logger are passed in, so everything but the attach stream is tested with
// the fake clientset.
package build
