package build

import (
	"fmt"
	"sort"
	"strings"
)

// FailureReason classifies why a build did not produce an image.
type FailureReason string

// Failure reasons. Callers branch on them to word their message, to
// point at what fixes it, and to decide whether a retry could help.
const (
	ReasonInvalidRequest FailureReason = "InvalidRequest"
	// ReasonRegistrySecret: the Secret with the registry credentials
	// (RegistryAccess.AuthSecret) is missing or has no Docker config.
	ReasonRegistrySecret FailureReason = "RegistryAuthSecretNotUsable"
	// ReasonBuildSecret: a build secret's Secret or key is missing.
	ReasonBuildSecret FailureReason = "BuildSecretNotUsable"
	// ReasonContextCredentials: the Secret with the URL context's
	// credentials (Context.CredentialsSecret) is missing.
	ReasonContextCredentials FailureReason = "ContextCredentialsSecretNotUsable"
	ReasonPodCreate          FailureReason = "PodCreateFailed"
	ReasonImagePull          FailureReason = "ExecutorImagePullFailed"
	ReasonContainerSetup     FailureReason = "ContainerSetupFailed"
	ReasonUnschedulable      FailureReason = "Unschedulable"
	ReasonContextUpload      FailureReason = "ContextUploadFailed"
	ReasonExecutorFailed     FailureReason = "ExecutorFailed"
	ReasonPodFailed          FailureReason = "PodFailed"
	ReasonPodDeleted         FailureReason = "PodDeleted"
	ReasonInvalidDigest      FailureReason = "InvalidDigest"
	ReasonTimeout            FailureReason = "Timeout"
	// ReasonQueueTimeout: no build slot became free before the build's
	// deadline.
	ReasonQueueTimeout FailureReason = "QueueTimeout"
	// ReasonQuotaTooSmall: the build pod alone asks for more than a
	// ResourceQuota of the namespace allows in all; waiting cannot help.
	ReasonQuotaTooSmall FailureReason = "QuotaTooSmall"
	// ReasonContextChanged: the context is not the one the plan predicted
	// the digest from; nothing was built.
	ReasonContextChanged FailureReason = "ContextChanged"
	// ReasonPredictionMissed: the build did not reach the planned digest.
	ReasonPredictionMissed FailureReason = "PredictionMissed"
	ReasonCanceled         FailureReason = "Canceled"
	ReasonWatch            FailureReason = "WatchFailed"
	ReasonOOMKilled        FailureReason = "OOMKilled"
	ReasonContextRead      FailureReason = "ContextReadFailed"
	// ReasonNotEligible: the direct executor cannot perform the
	// Dockerfile (Kaniko can).
	ReasonNotEligible FailureReason = "NotEligibleForDirect"
	// ReasonPlatform: the direct executor cannot know the platform Kaniko
	// would build for (a multi-platform base or a platform ARG, and no
	// platform given nor one node platform to go by).
	ReasonPlatform FailureReason = "PlatformUnknown"
	// ReasonArchitecture: an executable the Dockerfile copies is built
	// for another platform than the image's.
	ReasonArchitecture FailureReason = "ArchitectureMismatch"
	// ReasonDockerfile: the Dockerfile is wrong in a way every executor
	// would fail on (a COPY source that does not exist, a bad ARG).
	ReasonDockerfile FailureReason = "DockerfileFailed"
	ReasonBaseImage  FailureReason = "BaseImageUnavailable"
	// ReasonRegistryTransient: a registry failed for a moment (refused,
	// reset, timed out, 5xx) while the executor read the base image or
	// pushed, after the executor's own retries.
	ReasonRegistryTransient FailureReason = "RegistryUnavailable"
	ReasonRegistry          FailureReason = "RegistryFailed"
	ReasonNoCluster         FailureReason = "ClusterNotConfigured"
)

// reasonPhrases word each reason for error strings.
var reasonPhrases = map[FailureReason]string{
	ReasonInvalidRequest:     "invalid build request",
	ReasonRegistrySecret:     "registry credentials secret not usable",
	ReasonBuildSecret:        "build secret not usable",
	ReasonContextCredentials: "context credentials secret not usable",
	ReasonPodCreate:          "build pod not created",
	ReasonImagePull:          "executor image not pullable",
	ReasonContainerSetup:     "executor container not started",
	ReasonUnschedulable:      "build pod unschedulable",
	ReasonContextUpload:      "build context upload failed",
	ReasonPodFailed:          "build pod failed",
	ReasonPodDeleted:         "build pod deleted",
	ReasonInvalidDigest:      "no valid digest reported",
	ReasonTimeout:            "build timed out",
	ReasonQueueTimeout:       "no build slot became free",
	ReasonQuotaTooSmall:      "build pod larger than the namespace's quota",
	ReasonContextChanged:     "build context changed since the plan",
	ReasonPredictionMissed:   "build did not reach the planned digest",
	ReasonCanceled:           "build cancelled",
	ReasonWatch:              "build pod not observable",
	ReasonOOMKilled:          "executor ran out of memory",
	ReasonContextRead:        "build context not readable",
	ReasonNotEligible:        "Dockerfile not eligible for a direct build",
	ReasonDockerfile:         "Dockerfile could not be performed",
	ReasonPlatform:           "target platform unknown",
	ReasonArchitecture:       "an executable built for another platform",
	ReasonBaseImage:          "base image not available",
	ReasonRegistry:           "registry request failed",
	ReasonRegistryTransient:  "registry unavailable during the build",
	ReasonNoCluster:          "no Kubernetes cluster configured",
}

// PodLost reports whether the reason means the pod went away before the
// executor finished, so that the same build in a new pod may succeed.
func (r FailureReason) PodLost() bool {
	return r == ReasonPodFailed || r == ReasonPodDeleted
}

// transient reports whether the same build may succeed when run again
// in a new pod: the pod was lost, or a registry failed for a moment.
func (r FailureReason) transient() bool {
	return r.PodLost() || r == ReasonRegistryTransient
}

// Failure is the error Build returns when the build did not produce an
// image. Read it with errors.As.
type Failure struct {
	Reason FailureReason
	// Pod is the build pod's name, when one was created.
	Pod string
	// Message is a one-line explanation, from Kubernetes where possible.
	Message string
	// ExitCode is the executor's exit code for ReasonExecutorFailed.
	ExitCode int32
	// MemoryLimit is the executor's memory limit for ReasonOOMKilled, as a
	// Kubernetes quantity; empty when it had none.
	MemoryLimit string
	// LogTail holds the executor's last log lines, oldest first.
	LogTail []string
	// Err is the underlying error, if any.
	Err error
}

func (f *Failure) Error() string {
	var b strings.Builder
	switch phrase, ok := reasonPhrases[f.Reason]; {
	case f.Reason == ReasonExecutorFailed:
		fmt.Fprintf(&b, "the build executor exited with code %d", f.ExitCode)
	case ok:
		b.WriteString(phrase)
	default:
		b.WriteString(string(f.Reason))
	}
	if f.Pod != "" {
		fmt.Fprintf(&b, " (pod %s)", f.Pod)
	}
	if f.Message != "" {
		b.WriteString(": " + f.Message)
	}
	if f.Err != nil {
		b.WriteString(": " + f.Err.Error())
	}
	return b.String()
}

func (f *Failure) Unwrap() error { return f.Err }

// Reasons lists every failure reason, for callers that word each one.
func Reasons() []FailureReason {
	out := make([]FailureReason, 0, len(reasonPhrases))
	for r := range reasonPhrases {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
