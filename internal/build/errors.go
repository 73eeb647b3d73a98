package build

import (
	"fmt"
	"strings"
)

// FailureReason classifies why a build did not produce an image.
type FailureReason string

// Failure reasons. Callers branch on them to word their message and to
// decide whether a retry could help.
const (
	ReasonInvalidRequest FailureReason = "InvalidRequest"
	ReasonSecretMissing  FailureReason = "RegistryAuthSecretMissing"
	ReasonPodCreate      FailureReason = "PodCreateFailed"
	ReasonImagePull      FailureReason = "ExecutorImagePullFailed"
	ReasonContainerSetup FailureReason = "ContainerSetupFailed"
	ReasonUnschedulable  FailureReason = "Unschedulable"
	ReasonContextUpload  FailureReason = "ContextUploadFailed"
	ReasonExecutorFailed FailureReason = "ExecutorFailed"
	ReasonPodFailed      FailureReason = "PodFailed"
	ReasonPodDeleted     FailureReason = "PodDeleted"
	ReasonInvalidDigest  FailureReason = "InvalidDigest"
	ReasonTimeout        FailureReason = "Timeout"
	ReasonCanceled       FailureReason = "Canceled"
	ReasonWatch          FailureReason = "WatchFailed"
	ReasonOOMKilled      FailureReason = "OOMKilled"
	ReasonContextRead    FailureReason = "ContextReadFailed"
	ReasonNotEligible    FailureReason = "NotEligibleForDirect"
	ReasonBaseImage      FailureReason = "BaseImageUnavailable"
	ReasonRegistry       FailureReason = "RegistryFailed"
	ReasonNoCluster      FailureReason = "ClusterNotConfigured"
)

// reasonPhrases word each reason for error strings.
var reasonPhrases = map[FailureReason]string{
	ReasonInvalidRequest: "invalid build request",
	ReasonSecretMissing:  "registry auth secret not usable",
	ReasonPodCreate:      "build pod not created",
	ReasonImagePull:      "executor image not pullable",
	ReasonContainerSetup: "executor container not started",
	ReasonUnschedulable:  "build pod unschedulable",
	ReasonContextUpload:  "build context upload failed",
	ReasonPodFailed:      "build pod failed",
	ReasonPodDeleted:     "build pod deleted",
	ReasonInvalidDigest:  "no valid digest reported",
	ReasonTimeout:        "build timed out",
	ReasonCanceled:       "build cancelled",
	ReasonWatch:          "build pod not observable",
	ReasonOOMKilled:      "executor ran out of memory",
	ReasonContextRead:    "build context not readable",
	ReasonNotEligible:    "Dockerfile not eligible for a direct build",
	ReasonBaseImage:      "base image not available",
	ReasonRegistry:       "registry request failed",
	ReasonNoCluster:      "no Kubernetes cluster configured",
}

// podLost reports whether the reason means the pod went away before the
// executor finished, so that the same build in a new pod may succeed.
func (r FailureReason) podLost() bool {
	return r == ReasonPodFailed || r == ReasonPodDeleted
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
		fmt.Fprintf(&b, "kaniko exited with code %d", f.ExitCode)
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
