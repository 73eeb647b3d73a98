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
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// Attacher streams data to a container's stdin (the pods/attach
// subresource). It returns when the attach session ends.
type Attacher interface {
	Attach(ctx context.Context, namespace, pod, container string, stdin io.Reader) error
}

// Executor runs each build in one Kaniko pod. Client is required;
// Attacher is required for local contexts.
type Executor struct {
	Client   kubernetes.Interface
	Attacher Attacher
	Log      build.Logger
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
}

var _ build.Executor = (*Executor)(nil)

// Build runs one Kaniko pod for the spec. The pod is deleted before Build
// returns, whatever the outcome, unless spec.Pod.KeepPod is set; a failed
// deletion is a warning in the result. Lost pods are not retried here:
// wrap the executor in build.RetryLostPods.
func (e *Executor) Build(ctx context.Context, spec build.Spec) (*build.Result, error) {
	res := &build.Result{Executor: build.ExecutorKaniko, Timings: build.Timings{}}
	if err := spec.Validate(); err != nil {
		return res, &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
	}
	spec, cleanup, err := build.TakeSnapshot(spec)
	defer cleanup()
	if err != nil {
		return res, err
	}
	res.ContextSHA256 = spec.ContextHash()
	if spec.Snapshot != nil && e.Attacher == nil {
		return res, &build.Failure{Reason: build.ReasonInvalidRequest, Message: "a local context needs an attacher"}
	}
	if err := e.checkSecrets(ctx, &spec); err != nil {
		return res, err
	}
	pod, err := PodFor(spec)
	if err != nil {
		return res, &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
	}
	created := e.Now.Now()
	pod, err = e.createPod(ctx, pod)
	if err != nil {
		if f := contextFailure(ctx, ""); f != nil {
			return res, f
		}
		return res, &build.Failure{Reason: build.ReasonPodCreate, Err: err}
	}
	res.Pod = pod.Name
	e.logger().Step("build pod created", "namespace", spec.Namespace, "pod", pod.Name, "image", pod.Spec.Containers[0].Image)
	defer func() {
		if spec.Pod.KeepPod {
			e.logger().Step("keeping build pod (keep_build_pod is set)", "namespace", spec.Namespace, "pod", pod.Name)
			return
		}
		if err := e.deletePod(ctx, spec.Namespace, pod.Name); err != nil {
			res.Warnings = append(res.Warnings, build.Warning{Kind: build.WarningCleanup,
				Message: fmt.Sprintf("build pod %s/%s could not be deleted: %v", spec.Namespace, pod.Name, err)})
		}
	}()

	r := newRun(e, spec, pod, created, res.Timings)
	term, err := r.wait(ctx)
	res.LogTail = r.tail.lines()
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
				MemoryLimit: memoryLimit(pod), Message: terminationSummary(term), LogTail: res.LogTail}
		}
		return res, &build.Failure{Reason: build.ReasonExecutorFailed, Pod: pod.Name, ExitCode: term.ExitCode, Message: terminationSummary(term), LogTail: res.LogTail}
	}
	digest := strings.TrimSpace(term.Message)
	if err := imageref.ValidateDigest(digest); err != nil {
		return res, &build.Failure{Reason: build.ReasonInvalidDigest, Pod: pod.Name, Message: "the executor's termination message does not hold a digest", Err: err, LogTail: res.LogTail}
	}
	res.Digest = digest
	res.Tags = append([]string(nil), spec.Tags...)
	e.logger().Step("image pushed", "digest", digest, "seconds", res.Timings[build.PhaseTotal].Seconds())
	return res, nil
}

func memoryLimit(pod *corev1.Pod) string {
	if q, ok := pod.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]; ok {
		return q.String()
	}
	return ""
}

// createPod creates the pod, retrying errors the API server reports as
// transient (timeouts, throttling, conflicts, restarts) with backoff.
func (e *Executor) createPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	pods := e.Client.CoreV1().Pods(pod.Namespace)
	delay := 500 * time.Millisecond
	for i := 1; ; i++ {
		created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
		if err == nil || !transientAPIError(err) || i >= maxCreateAttempts {
			return created, err
		}
		e.logger().Step("creating the build pod failed; retrying", "error", err.Error(), "attempt", i+1)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// maxCreateAttempts bounds pod creation attempts.
const maxCreateAttempts = 4

func transientAPIError(err error) bool {
	// A namespace created moments ago has no default service account
	// yet; the service account controller adds it within seconds.
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "error looking up service account") {
		return true
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsConflict(err) || apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err)
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

// checkSecrets fails fast on a missing registry or build secret;
// otherwise the pod would sit in ContainerCreating until the timeout.
func (e *Executor) checkSecrets(ctx context.Context, spec *build.Spec) error {
	if name := spec.Registry.AuthSecret; name != "" {
		secret, err := e.getSecret(ctx, spec.Namespace, name)
		if err != nil || secret == nil {
			return err
		}
		for _, key := range []string{corev1.DockerConfigJsonKey, "config.json"} {
			if _, ok := secret.Data[key]; ok {
				spec.Registry.AuthSecretKey = key
				return e.checkBuildSecrets(ctx, spec)
			}
		}
		return &build.Failure{Reason: build.ReasonSecretMissing, Message: fmt.Sprintf("secret %q has neither a %s nor a config.json key", name, corev1.DockerConfigJsonKey)}
	}
	return e.checkBuildSecrets(ctx, spec)
}

func (e *Executor) checkBuildSecrets(ctx context.Context, spec *build.Spec) error {
	for _, s := range spec.Secrets {
		secret, err := e.getSecret(ctx, spec.Namespace, s.SecretName)
		if err != nil {
			return err
		}
		if secret != nil {
			if _, ok := secret.Data[s.Key]; !ok {
				return &build.Failure{Reason: build.ReasonSecretMissing, Message: fmt.Sprintf("secret %q has no key %q (build secret %q)", s.SecretName, s.Key, s.ID)}
			}
		}
	}
	if name := spec.ContextCredentialsSecret; name != "" {
		if _, err := e.getSecret(ctx, spec.Namespace, name); err != nil {
			return err
		}
	}
	return nil
}

// getSecret reads a secret; (nil, nil) when the provider may not read
// secrets, in which case the kubelet reports a missing one.
func (e *Executor) getSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	secret, err := e.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, &build.Failure{Reason: build.ReasonSecretMissing, Message: fmt.Sprintf("secret %q does not exist in namespace %q", name, namespace)}
	case apierrors.IsForbidden(err):
		e.logger().Step("not allowed to read a secret the build uses; assuming it is right", "secret", name)
		return nil, nil
	case err != nil:
		return nil, &build.Failure{Reason: build.ReasonSecretMissing, Message: fmt.Sprintf("reading secret %q", name), Err: err}
	}
	return secret, nil
}

// deletePod removes the pod even when ctx was cancelled: cleanup must
// happen on Ctrl-C too.
func (e *Executor) deletePod(ctx context.Context, namespace, name string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := e.Client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr(int64(0)),
		PropagationPolicy:  ptr(metav1.DeletePropagationBackground),
	})
	if err == nil || apierrors.IsNotFound(err) {
		e.logger().Step("build pod deleted", "namespace", namespace, "pod", name)
		return nil
	}
	return err
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

func terminationSummary(t *corev1.ContainerStateTerminated) string {
	parts := []string{}
	if t.Reason != "" {
		parts = append(parts, t.Reason)
	}
	if msg := strings.TrimSpace(t.Message); msg != "" {
		parts = append(parts, msg)
	}
	return strings.Join(parts, ": ")
}
