package build

import (
	"context"
	"time"
)

// Executor runs one build to completion. Implementations: the Kaniko
// executor (a pod in the cluster, package kaniko) and the direct executor
// (no pod: layers appended with go-containerregistry, package direct).
// Queueing, retries, history and retention wrap an Executor.
//
// Build returns a Result even on failure, so callers can report the pod
// and cleanup warnings; the error is then a *Failure.
type Executor interface {
	Build(ctx context.Context, spec Spec) (*Result, error)
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, spec Spec) (*Result, error)

// Build calls f.
func (f ExecutorFunc) Build(ctx context.Context, spec Spec) (*Result, error) { return f(ctx, spec) }

// Names of the executors, as the provider's executor attribute and
// Result.Executor spell them.
const (
	ExecutorKaniko = "kaniko"
	ExecutorDirect = "direct"
	ExecutorAuto   = "auto"
)

// Result describes a build.
type Result struct {
	// Executor is the executor that built the image (ExecutorKaniko or
	// ExecutorDirect).
	Executor string
	// Pod is the build pod's name, for Kaniko builds.
	Pod string
	// Digest is the pushed manifest's digest, sha256:<hex>.
	Digest string
	// ContextSHA256 is the hash of the context as the executor read it,
	// for a local context; for a URL context, the spec's.
	ContextSHA256 string
	// BaseImageDigest is the digest of the manifest the image was built
	// on, where it is known.
	BaseImageDigest string
	// ImageSize is the pushed image's compressed size (config and
	// layers), when the executor knows it; 0 otherwise.
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

// Logger receives the engine's progress and the executor's output.
type Logger interface {
	// Step reports an engine step, with key/value pairs for context.
	Step(msg string, keyvals ...any)
	// Output reports one line of executor output, without timestamp.
	Output(line string)
}

// DiscardLogger drops everything.
type DiscardLogger struct{}

// Step does nothing.
func (DiscardLogger) Step(string, ...any) {}

// Output does nothing.
func (DiscardLogger) Output(string) {}

// LoggerOr returns l, or a DiscardLogger when l is nil.
func LoggerOr(l Logger) Logger {
	if l == nil {
		return DiscardLogger{}
	}
	return l
}

// Clock returns the current time; nil means time.Now.
type Clock func() time.Time

// Now reads the clock.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
