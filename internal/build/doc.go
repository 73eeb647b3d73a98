// Package build is the build engine's core, shared by every executor: a
// Spec (what to build), the Executor interface (Plan, then Build) with
// its Result and typed Failure, Timings, and the wrappers that add one
// concern each around an executor and forward both methods:
// SnapshotContext (archive a local context once; its hash is the
// context's identity), RecordHistory (history labels, history tags,
// retention), ChooseExecutor (the executor a spec names; auto's fallback
// to Kaniko), ConcurrencyLimit (a bound on concurrent builds) and
// RetryTransient (a build pod lost before the executor finished, or a
// registry failing for a moment, builds once more in a new pod).
//
// The executors live in the subpackages kaniko (a pod in the cluster)
// and direct (no pod). The package knows nothing about Terraform or
// Kubernetes clients: its messages speak of builds, and callers map
// failure reasons to their own vocabulary.
package build
