// Package kaniko is the build executor that runs Kaniko in a Kubernetes
// pod: it shapes the pod (PodFor, a pure function), creates it, streams
// the context snapshot to the executor's stdin, follows the executor's
// log, waits for the result by watching the pod by name, reads the
// pushed digest from the container's termination message, measures each
// phase, and deletes the pod on every path out (success, failure,
// timeout, cancel).
//
// Files by concern: executor.go (Plan, Build, the secrets the pod needs,
// pod create and delete), pod.go (the pod spec and Kaniko's arguments,
// a pure function of the spec and the inputs read from the cluster),
// watch.go (the state machine that follows the pod), upload.go (the
// context stream), logs.go (the log follower, Kaniko's phases from its
// log, the log tail), base_digest.go (RecordBaseDigest, the base image
// Kaniko does not report), platforms.go (MultiPlatform: one build per
// platform, on nodes of that platform, and the index), lifecycle.go (the
// pod's life around the build: quota waits, ambiguous creates, the
// heartbeat, leftovers of killed providers), context_secret.go (the
// per-build Secret of a presigned context URL), transient.go (registry
// failures recognised in Kaniko's log).
//
// The package knows nothing about Terraform. The clientset, the attacher
// and the logger are passed in, so everything but the attach stream is
// tested with the fake clientset.
package kaniko
