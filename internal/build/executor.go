package build

import "context"

// Executor builds images. Implementations: the Kaniko executor (a pod in
// the cluster, package kaniko) and the direct executor (no pod: layers
// appended with go-containerregistry, package direct). Queueing, retries,
// history, the context snapshot and the choice of executor wrap an
// Executor and forward both methods.
type Executor interface {
	// Plan decides, before anything is built, whether and how the spec
	// can be built, from the same Spec that Build later receives. It
	// reads no more of a local context than its Dockerfile and creates
	// nothing; a spec that cannot be built is a *Failure.
	Plan(ctx context.Context, spec Spec) (Plan, error)
	// Build runs one build to completion. It returns a Result even on
	// failure, so callers can report the pod and cleanup warnings; the
	// error is then a *Failure.
	Build(ctx context.Context, spec Spec) (*Result, error)
}

// Names of the executors, as Spec.Executor, Plan.Executor and
// Result.Executor spell them.
const (
	ExecutorKaniko = "kaniko"
	ExecutorDirect = "direct"
	ExecutorAuto   = "auto"
)

// Plan is what an executor decided about a spec before building it.
type Plan struct {
	// Executor is the executor that will build the spec, ExecutorKaniko
	// or ExecutorDirect; empty when that depends on what the build finds
	// (ExecutorAuto with a Dockerfile a direct build can perform: the
	// registry must answer from this machine).
	Executor string
	// NotDirect says why the spec will not be built directly, when
	// ExecutorAuto chose Kaniko.
	NotDirect string
}

// Result describes a build.
type Result struct {
	// Executor is the executor that built the image (ExecutorKaniko or
	// ExecutorDirect).
	Executor string
	// Pod is the build pod's name, for Kaniko builds.
	Pod string
	// Digest is the pushed manifest's digest, sha256:<hex>.
	Digest string
	// ContextSHA256 is the identity of the context the build read
	// (Context.SHA256); SnapshotContext, which takes the snapshot, sets it.
	ContextSHA256 string
	// DockerfileSHA256 is the hex SHA-256 of the Dockerfile the build
	// read, for a local context; SnapshotContext sets it.
	DockerfileSHA256 string
	// BaseImageDigest is the digest of the manifest the image was built
	// on, where it is known; of the base's index for a multi-platform
	// build.
	BaseImageDigest string
	// BaseImage is the final stage's base as the build resolved it (FROM
	// with build arguments expanded), where it is known.
	BaseImage string
	// ExecutorImage and ExecutorImageDigest are the Kaniko executor image
	// a build ran and the digest the node ran it at, where the node
	// reported it.
	ExecutorImage       string
	ExecutorImageDigest string
	// PlatformDigests and PlatformSizes are, for a multi-platform build,
	// each platform's manifest digest and compressed size; Digest is then
	// the index's.
	PlatformDigests map[string]string
	PlatformSizes   map[string]int64
	// ImageSize is the pushed image's compressed size (config and
	// layers; for an index, the sum of its images'), when the executor
	// knows it; 0 otherwise.
	ImageSize int64
	// Tags are the tags pushed, history tags included.
	Tags    []string
	Timings Timings
	// LogTail holds the executor's last log lines.
	LogTail []string
	// Warnings are problems that did not fail the build, such as a build
	// pod that could not be deleted.
	Warnings []Warning
	// Pruned lists what retention deleted (or would delete, in a dry
	// run) after the build.
	Pruned []Pruned
	// Attempts is the number of build pods used.
	Attempts int
}

// NewResult returns an empty Result of the named executor, with its
// Timings ready to be filled.
func NewResult(executor string) *Result { return &Result{Executor: executor, Timings: Timings{}} }

// resultOr returns res, or an empty result when an executor returned nil.
func resultOr(res *Result) *Result {
	if res == nil {
		res = NewResult("")
	}
	if res.Timings == nil {
		res.Timings = Timings{}
	}
	return res
}

// Warning is a problem that did not fail the build.
type Warning struct {
	Kind    WarningKind
	Message string
}

// WarningKind tells warnings apart, so callers can word them.
type WarningKind string

// Kinds of warnings.
const (
	// WarningCleanup: a build pod or temporary object was not removed.
	WarningCleanup WarningKind = "cleanup"
	// WarningRetention: older builds could not be pruned.
	WarningRetention WarningKind = "retention"
)

// Pruned is one manifest retention deleted, or would delete in a dry run.
type Pruned struct {
	Tag    string
	Digest string
}
