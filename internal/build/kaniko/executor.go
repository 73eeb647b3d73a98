package kaniko

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// Attacher streams data to a container's stdin (the pods/attach
// subresource). It returns when the attach session ends.
type Attacher interface {
	Attach(ctx context.Context, namespace, pod, container string, stdin io.Reader) error
}

// Executor runs each build in one Kaniko pod. Client is required to
// build (without one, ClusterErr says why there is no cluster); Attacher
// is required for local contexts. Plan needs neither.
type Executor struct {
	Client     kubernetes.Interface
	ClusterErr error
	Attacher   Attacher
	Log        build.Logger
	// Now is the clock; nil means time.Now.
	Now build.Clock
	// LogTailLines is how many executor log lines a Failure carries
	// (default 30).
	LogTailLines int
	// UnschedulableTimeout is how long a pod may wait for a node before
	// the build fails (default 60s); negative waits until the build's
	// own timeout, for autoscaled build pools. Other builds finishing or
	// a new node joining often frees the capacity a pod waits for; a
	// node selector no node matches does not get better.
	UnschedulableTimeout time.Duration
	// ImagePullTimeout is how long transient failures to pull the
	// executor image (registry unreachable, timeouts, server errors) are
	// waited out before the build fails (default 2m). An image that does
	// not exist fails at once.
	ImagePullTimeout time.Duration
	// LogDrainTimeout bounds the wait for the rest of the executor's log
	// once it terminated (default 10s).
	LogDrainTimeout time.Duration
	// OnExecutorStarted, when set, is called once the executor container
	// runs, with the pod as observed then; the benchmark uses it to find
	// the container's cgroup. It must not block.
	OnExecutorStarted func(pod *corev1.Pod)
	// Bases, when set, reads the base images' configurations, so that
	// their environment and ONBUILD triggers are checked with the
	// Dockerfile (build.CheckSources); a base it cannot reach is not.
	Bases build.BaseReader
	// Session names this process on its pods: the pods of the same image
	// from another session are leftovers of a killed provider, which the
	// next build deletes. Empty means the process's own session.
	Session string
}

var _ build.Executor = (*Executor)(nil)

// Plan accepts every spec whose Dockerfile keeps its sources inside the
// context: Kaniko performs any Dockerfile.
func (e *Executor) Plan(ctx context.Context, spec build.Spec) (build.Plan, error) {
	if err := e.checkDockerfile(ctx, spec); err != nil {
		return build.Plan{}, err
	}
	return build.Plan{Executor: build.ExecutorKaniko}, nil
}

// checkDockerfile refuses COPY and ADD sources that read outside a
// local context (build.CheckSources), the base images' ONBUILD triggers
// and environment included where Bases reaches them: in Kaniko's
// container they would reach the mounted registry credentials and build
// secrets. A URL context is read by Kaniko alone.
func (e *Executor) checkDockerfile(ctx context.Context, spec build.Spec) error {
	return build.CheckSources(spec, build.ReadBases(ctx, e.Bases, spec))
}

// Build runs one Kaniko pod for the spec. The pod is deleted before Build
// returns, whatever the outcome, unless spec.Pod.KeepPod is set; a failed
// deletion is a warning in the result. Lost pods are not retried here:
// wrap the executor in build.RetryTransient. A local context must have
// been archived (build.SnapshotContext).
func (e *Executor) Build(ctx context.Context, spec build.Spec) (*build.Result, error) {
	res := build.NewResult(build.ExecutorKaniko)
	if err := build.CheckSpec(spec); err != nil {
		return res, err
	}
	if err := e.checkDockerfile(ctx, spec); err != nil {
		return res, err
	}
	if e.Client == nil {
		return res, &build.Failure{Reason: build.ReasonNoCluster, Message: "a Kaniko build runs in a pod", Err: e.ClusterErr}
	}
	if spec.Context.Local() && e.Attacher == nil {
		return res, &build.Failure{Reason: build.ReasonInvalidRequest, Message: "a local context needs an attacher"}
	}
	inputs, err := e.podInputs(ctx, spec)
	if err != nil {
		return res, err
	}
	inputs.Nonce = randomHex(8)
	res.Warnings = append(res.Warnings, e.deleteLeftovers(ctx, spec, inputs.Session)...)
	if needsURLSecret(spec) {
		name, err := e.createURLSecret(ctx, spec, inputs)
		if err != nil {
			return res, err
		}
		inputs.ContextURLSecret = name
		defer func() {
			if err := e.deleteURLSecret(ctx, spec.Namespace, name); err != nil {
				res.Warnings = append(res.Warnings, build.Warning{Kind: build.WarningCleanup,
					Message: fmt.Sprintf("the Secret %s/%s holding the context URL could not be deleted: %v", spec.Namespace, name, err)})
			}
		}()
	}
	pod, err := PodFor(spec, inputs)
	if err != nil {
		return res, &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
	}
	created := e.Now.Now()
	pod, queued, err := e.createPod(ctx, pod)
	if queued > 0 {
		res.Timings[build.PhaseQueued] = queued
	}
	if err != nil {
		if f := contextFailure(ctx, ""); f != nil {
			if queued > 0 {
				f.Message += fmt.Sprintf(" (waited %s for the namespace's ResourceQuota)", queued.Round(time.Second))
			}
			return res, f
		}
		var f *build.Failure
		if errors.As(err, &f) {
			return res, f
		}
		return res, &build.Failure{Reason: build.ReasonPodCreate, Err: err}
	}
	created = created.Add(queued)
	res.Pod = pod.Name
	if inputs.ContextURLSecret != "" {
		e.adoptURLSecret(ctx, spec.Namespace, inputs.ContextURLSecret, pod)
	}
	e.logger().Step("build pod created", "namespace", spec.Namespace, "pod", pod.Name, "image", pod.Spec.Containers[0].Image)
	stopHeartbeat := e.heartbeat(ctx, pod)
	defer stopHeartbeat()
	r := newRun(e, spec, pod, created)
	defer func() {
		if spec.Pod.KeepPod {
			e.logger().Step("keeping the build pod, as the build asks", "namespace", spec.Namespace, "pod", pod.Name)
			return
		}
		if err := e.deletePod(ctx, spec.Namespace, pod.Name, r.terminated); err != nil {
			res.Warnings = append(res.Warnings, build.Warning{Kind: build.WarningCleanup,
				Message: fmt.Sprintf("build pod %s/%s could not be deleted: %v", spec.Namespace, pod.Name, err)})
		}
		e.deleteDuplicates(ctx, pod)
	}()

	term, err := r.wait(ctx)
	defer r.stopLogs()
	if err != nil {
		// The log may still hold the last pushes of a pod that went away.
		r.drainLogsFor(2 * time.Second)
	}
	r.measured(res.Timings)
	res.LogTail = r.tail.lines()
	// What was pushed is tracked whatever happened next: a later tag
	// that failed, a pod lost after the pushes.
	res.Digest, res.Tags = r.pushed()
	if err != nil {
		var f *build.Failure
		if errors.As(err, &f) && f.Reason.PodLost() && len(res.Tags) == len(spec.Tags) {
			e.logger().Step("the build pod was lost after every tag was pushed; the build is done", "pod", pod.Name, "digest", res.Digest)
			return res, nil
		}
	}
	if err != nil {
		var f *build.Failure
		if errors.As(err, &f) {
			f.Pod, f.LogTail = pod.Name, res.LogTail
		}
		return res, err
	}
	res.Timings[build.PhaseTotal] = r.finished.Sub(created)
	if term.ExitCode != 0 {
		if term.Reason == "OOMKilled" {
			return res, &build.Failure{Reason: build.ReasonOOMKilled, Pod: pod.Name, ExitCode: term.ExitCode,
				MemoryLimit: memoryLimit(pod), Message: terminationSummary(term, spec), LogTail: res.LogTail}
		}
		if line, ok := transientRegistryFailure(term.ExitCode, res.LogTail); ok {
			return res, &build.Failure{Reason: build.ReasonRegistryTransient, Pod: pod.Name, ExitCode: term.ExitCode, Message: line, LogTail: res.LogTail}
		}
		return res, &build.Failure{Reason: build.ReasonExecutorFailed, Pod: pod.Name, ExitCode: term.ExitCode, Message: terminationSummary(term, spec), LogTail: res.LogTail}
	}
	digest := strings.TrimSpace(term.Message)
	if err := imageref.ValidateDigest(digest); err != nil {
		return res, &build.Failure{Reason: build.ReasonInvalidDigest, Pod: pod.Name, Message: "the executor's termination message does not hold a digest", Err: err, LogTail: res.LogTail}
	}
	res.Digest = digest
	res.Tags = append([]string(nil), spec.Tags...)
	res.ExecutorImage, res.ExecutorImageDigest = pod.Spec.Containers[0].Image, r.executorImageDigest()
	e.logger().Step("image pushed", "digest", digest, "seconds", res.Timings[build.PhaseTotal].Seconds())
	return res, nil
}

func memoryLimit(pod *corev1.Pod) string {
	if q, ok := pod.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]; ok {
		return q.String()
	}
	return ""
}

func (e *Executor) logger() build.Logger { return build.LoggerOr(e.Log) }

func (e *Executor) unschedulableTimeout() time.Duration {
	if e.UnschedulableTimeout != 0 {
		return e.UnschedulableTimeout
	}
	return time.Minute
}

func (e *Executor) imagePullTimeout() time.Duration {
	if e.ImagePullTimeout > 0 {
		return e.ImagePullTimeout
	}
	return 2 * time.Minute
}

func (e *Executor) tailLines() int {
	if e.LogTailLines > 0 {
		return e.LogTailLines
	}
	return 30
}

// podInputs reads what the pod spec needs from the cluster, and fails
// fast on a missing registry, build or context secret; otherwise the pod
// would sit in ContainerCreating until the timeout.
func (e *Executor) podInputs(ctx context.Context, spec build.Spec) (PodInputs, error) {
	in := PodInputs{Session: e.Session}
	if in.Session == "" {
		in.Session = processSession
	}
	if name := spec.Registry.AuthSecret; name != "" {
		secret, err := e.getSecret(ctx, spec.Namespace, name, build.ReasonRegistrySecret)
		if err != nil {
			return in, err
		}
		if secret != nil {
			in.RegistryAuthKey = dockerConfigKey(secret)
			if in.RegistryAuthKey == "" {
				return in, &build.Failure{Reason: build.ReasonRegistrySecret, Message: fmt.Sprintf("secret %q has neither a %s nor a config.json key", name, corev1.DockerConfigJsonKey)}
			}
		}
	}
	for _, s := range spec.Secrets {
		secret, err := e.getSecret(ctx, spec.Namespace, s.SecretName, build.ReasonBuildSecret)
		if err != nil {
			return in, err
		}
		if secret != nil {
			if _, ok := secret.Data[s.Key]; !ok {
				return in, &build.Failure{Reason: build.ReasonBuildSecret, Message: fmt.Sprintf("secret %q has no key %q (build secret %q)", s.SecretName, s.Key, s.ID)}
			}
		}
	}
	if name := spec.Context.CredentialsSecret; name != "" {
		if _, err := e.getSecret(ctx, spec.Namespace, name, build.ReasonContextCredentials); err != nil {
			return in, err
		}
	}
	return in, nil
}

// dockerConfigKey is the key of a Secret that holds a Docker config, or
// "" when it has none.
func dockerConfigKey(secret *corev1.Secret) string {
	for _, key := range []string{corev1.DockerConfigJsonKey, "config.json"} {
		if _, ok := secret.Data[key]; ok {
			return key
		}
	}
	return ""
}

// getSecret reads a secret; (nil, nil) when the executor may not read
// secrets, in which case the kubelet reports a missing one. reason
// classifies a missing secret by what it is for.
func (e *Executor) getSecret(ctx context.Context, namespace, name string, reason build.FailureReason) (*corev1.Secret, error) {
	secret, err := e.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, &build.Failure{Reason: reason, Message: fmt.Sprintf("secret %q does not exist in namespace %q", name, namespace)}
	case apierrors.IsForbidden(err):
		e.logger().Step("not allowed to read a secret the build uses; assuming it is right", "secret", name)
		return nil, nil
	case err != nil:
		return nil, &build.Failure{Reason: reason, Message: fmt.Sprintf("reading secret %q", name), Err: err}
	}
	return secret, nil
}

// contextFailure turns a finished context into a Failure.
func contextFailure(ctx context.Context, pod string) *build.Failure {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &build.Failure{Reason: build.ReasonTimeout, Pod: pod, Message: "the build did not finish within its timeout"}
	case errors.Is(ctx.Err(), context.Canceled):
		return &build.Failure{Reason: build.ReasonCanceled, Pod: pod, Message: "the build was cancelled"}
	}
	return nil
}

// terminationSummary is the executor's reason and termination message,
// without the secrets of a context URL.
func terminationSummary(t *corev1.ContainerStateTerminated, spec build.Spec) string {
	return build.URLRedactor(spec.Context.URL)(terminationText(t))
}

func terminationText(t *corev1.ContainerStateTerminated) string {
	parts := []string{}
	if t.Reason != "" {
		parts = append(parts, t.Reason)
	}
	if msg := strings.TrimSpace(t.Message); msg != "" {
		parts = append(parts, msg)
	}
	return strings.Join(parts, ": ")
}
