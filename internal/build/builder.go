package build

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// Logger receives the engine's progress and the executor's output.
type Logger interface {
	// Step reports an engine step, with key/value pairs for context.
	Step(msg string, keyvals ...any)
	// Output reports one line of executor output, without timestamp.
	Output(line string)
}

// Attacher streams data to a container's stdin (the pods/attach
// subresource). It returns when the attach session ends.
type Attacher interface {
	Attach(ctx context.Context, namespace, pod, container string, stdin io.Reader) error
}

// Builder runs builds. The zero value is not usable: Client is required,
// Attacher is required for streamed contexts.
type Builder struct {
	Client   kubernetes.Interface
	Attacher Attacher
	Log      Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LogTailLines is how many executor log lines a Failure carries
	// (default 30).
	LogTailLines int
	// UnschedulableGrace is how long a pod may stay unschedulable before
	// the build fails (default 60s). Other builds finishing often frees
	// the capacity a pod waits for; a node selector no node matches does
	// not get better, and fails after the grace.
	UnschedulableGrace time.Duration
	// PodRetries is how many times a lost build pod is replaced (see
	// Build). The provider sets 1.
	PodRetries int
	// LogDrainTimeout bounds the wait for the rest of the executor's log
	// once it terminated (default 10s).
	LogDrainTimeout time.Duration
	// OnExecutorStarted, when set, is called once the executor container
	// runs, with the pod as observed then; the benchmark uses it to find
	// the container's cgroup. It must not block.
	OnExecutorStarted func(pod *corev1.Pod)
}

// Result describes a build attempt. Build returns it even on failure, so
// the caller can report the pod name and cleanup warnings.
type Result struct {
	// Pod is the build pod's name.
	Pod string
	// Digest is the pushed manifest's digest, sha256:<hex>.
	Digest  string
	Timings Timings
	// LogTail holds the executor's last log lines.
	LogTail []string
	// Warnings are problems that did not fail the build, such as a build
	// pod that could not be deleted.
	Warnings []string
	// Attempts is the number of build pods used.
	Attempts int
}

// Build runs req to completion. On failure the error is a *Failure. Each
// build pod is deleted before Build returns, whatever the outcome, unless
// req.KeepPod is set; a failed deletion is reported in Result.Warnings.
//
// A pod lost before Kaniko finished (evicted, its node gone, deleted by
// someone else) is replaced by a new pod up to PodRetries times.
// Deterministic failures, such as a failing RUN step or a missing base
// image, are never retried.
func (b *Builder) Build(ctx context.Context, req Request) (*Result, error) {
	if err := req.Validate(); err != nil {
		return &Result{Timings: Timings{}}, &Failure{Reason: ReasonInvalidRequest, Err: err}
	}
	if req.WriteContext != nil && b.Attacher == nil {
		return &Result{Timings: Timings{}}, &Failure{Reason: ReasonInvalidRequest, Message: "a streamed context needs an attacher"}
	}
	if err := b.checkAuthSecret(ctx, &req); err != nil {
		return &Result{Timings: Timings{}}, err
	}
	var warnings []string
	for attempt := 0; ; attempt++ {
		res, err := b.attempt(ctx, req)
		res.Attempts = attempt + 1
		res.Warnings = append(warnings, res.Warnings...)
		var f *Failure
		if err == nil || !errors.As(err, &f) || !f.Reason.podLost() || attempt >= b.PodRetries || ctx.Err() != nil {
			return res, err
		}
		warnings = res.Warnings
		b.logger().Step("build pod lost before Kaniko finished; building again in a new pod",
			"pod", f.Pod, "reason", string(f.Reason), "message", f.Message, "attempt", attempt+2)
	}
}

// attempt runs one build pod.
func (b *Builder) attempt(ctx context.Context, req Request) (*Result, error) {
	res := &Result{Timings: Timings{}}
	pod, err := PodFor(req)
	if err != nil {
		return res, &Failure{Reason: ReasonInvalidRequest, Err: err}
	}
	created := b.now()
	pod, err = b.createPod(ctx, pod)
	if err != nil {
		if f := contextFailure(ctx, ""); f != nil {
			return res, f
		}
		return res, &Failure{Reason: ReasonPodCreate, Err: err}
	}
	res.Pod = pod.Name
	b.logger().Step("build pod created", "namespace", req.Namespace, "pod", pod.Name, "image", pod.Spec.Containers[0].Image)
	defer func() {
		if req.KeepPod {
			b.logger().Step("keeping build pod (keep_build_pod is set)", "namespace", req.Namespace, "pod", pod.Name)
			return
		}
		if err := b.deletePod(ctx, req.Namespace, pod.Name); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("build pod %s/%s could not be deleted: %v", req.Namespace, pod.Name, err))
		}
	}()

	r := &run{b: b, req: req, name: pod.Name, created: created, timings: res.Timings, tail: newRing(b.tailLines()), logsDone: make(chan struct{})}
	term, err := r.wait(ctx)
	res.LogTail = r.tail.lines()
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			f.Pod, f.LogTail = pod.Name, res.LogTail
		}
		return res, err
	}
	res.Timings[PhaseTotal] = r.finished.Sub(created)
	if term.ExitCode != 0 {
		return res, &Failure{Reason: ReasonExecutorFailed, Pod: pod.Name, ExitCode: term.ExitCode, Message: terminationSummary(term), LogTail: res.LogTail}
	}
	digest := strings.TrimSpace(term.Message)
	if err := imageref.ValidateDigest(digest); err != nil {
		return res, &Failure{Reason: ReasonInvalidDigest, Pod: pod.Name, Message: "the executor's termination message does not hold a digest", Err: err, LogTail: res.LogTail}
	}
	res.Digest = digest
	b.logger().Step("image pushed", "digest", digest, "seconds", res.Timings[PhaseTotal].Seconds())
	return res, nil
}

// createPod creates the pod, retrying errors the API server reports as
// transient (timeouts, throttling, conflicts, restarts) with backoff.
func (b *Builder) createPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	pods := b.Client.CoreV1().Pods(pod.Namespace)
	delay := 500 * time.Millisecond
	for i := 1; ; i++ {
		created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
		if err == nil || !transientAPIError(err) || i >= maxCreateAttempts {
			return created, err
		}
		b.logger().Step("creating the build pod failed; retrying", "error", err.Error(), "attempt", i+1)
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

func (b *Builder) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Builder) logger() Logger {
	if b.Log != nil {
		return b.Log
	}
	return discardLogger{}
}

func (b *Builder) unschedulableGrace() time.Duration {
	if b.UnschedulableGrace > 0 {
		return b.UnschedulableGrace
	}
	return time.Minute
}

func (b *Builder) tailLines() int {
	if b.LogTailLines > 0 {
		return b.LogTailLines
	}
	return 30
}

type discardLogger struct{}

func (discardLogger) Step(string, ...any) {}
func (discardLogger) Output(string)       {}

// checkAuthSecret fails fast on a missing registry secret; otherwise the
// pod would sit in ContainerCreating until the timeout.
func (b *Builder) checkAuthSecret(ctx context.Context, req *Request) error {
	if req.RegistryAuthSecret == "" {
		return nil
	}
	secret, err := b.Client.CoreV1().Secrets(req.Namespace).Get(ctx, req.RegistryAuthSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return &Failure{Reason: ReasonSecretMissing, Message: fmt.Sprintf("secret %q does not exist in namespace %q", req.RegistryAuthSecret, req.Namespace)}
	case apierrors.IsForbidden(err):
		b.logger().Step("not allowed to read the registry auth secret; assuming it holds .dockerconfigjson", "secret", req.RegistryAuthSecret)
		return nil
	case err != nil:
		return &Failure{Reason: ReasonSecretMissing, Message: fmt.Sprintf("reading secret %q", req.RegistryAuthSecret), Err: err}
	}
	for _, key := range []string{corev1.DockerConfigJsonKey, "config.json"} {
		if _, ok := secret.Data[key]; ok {
			req.registryAuthKey = key
			return nil
		}
	}
	return &Failure{Reason: ReasonSecretMissing, Message: fmt.Sprintf("secret %q has neither a %s nor a config.json key", req.RegistryAuthSecret, corev1.DockerConfigJsonKey)}
}

// deletePod removes the pod even when ctx was cancelled: cleanup must
// happen on Ctrl-C too.
func (b *Builder) deletePod(ctx context.Context, namespace, name string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := b.Client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr(int64(0)),
		PropagationPolicy:  ptr(metav1.DeletePropagationBackground),
	})
	if err == nil || apierrors.IsNotFound(err) {
		b.logger().Step("build pod deleted", "namespace", namespace, "pod", name)
		return nil
	}
	return err
}

// contextFailure turns a finished context into a Failure.
func contextFailure(ctx context.Context, pod string) *Failure {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Failure{Reason: ReasonTimeout, Pod: pod, Message: "the build did not finish within its timeout"}
	case errors.Is(ctx.Err(), context.Canceled):
		return &Failure{Reason: ReasonCanceled, Pod: pod, Message: "the build was cancelled"}
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

// run is the state of one build pod while it is watched.
type run struct {
	b       *Builder
	req     Request
	name    string
	created time.Time
	timings Timings

	ctx      context.Context
	cancel   context.CancelCauseFunc
	started  bool
	finished time.Time

	// last is the pod as last observed; unschedulableSince is when it was
	// first seen unschedulable.
	last               *corev1.Pod
	unschedulableSince time.Time

	mu       sync.Mutex
	tail     *ring
	phases   logPhases
	logsDone chan struct{}
}

// fatalWaitingReasons end a build at once: waiting longer cannot help.
var fatalWaitingReasons = map[string]FailureReason{
	"ErrImagePull":               ReasonImagePull,
	"ImagePullBackOff":           ReasonImagePull,
	"InvalidImageName":           ReasonImagePull,
	"ErrImageNeverPull":          ReasonImagePull,
	"RegistryUnavailable":        ReasonImagePull,
	"CreateContainerConfigError": ReasonContainerSetup,
	"CreateContainerError":       ReasonContainerSetup,
	"RunContainerError":          ReasonContainerSetup,
}

func (r *run) wait(parent context.Context) (*corev1.ContainerStateTerminated, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	r.ctx, r.cancel = ctx, cancel

	term, err := r.watchPod(ctx)
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return nil, f
		}
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			return nil, cause
		}
		if f := contextFailure(parent, r.name); f != nil {
			return nil, f
		}
		return nil, &Failure{Reason: ReasonWatch, Err: err}
	}
	r.finished = r.b.now()
	r.drainLogs()
	return term, nil
}

// maxWatchErrors bounds consecutive API errors while watching; a few are
// normal (API server restarts, expired resource versions), many mean the
// cluster is unreachable.
const maxWatchErrors = 5

// watchPod follows the build pod by name until the executor terminated or
// the build cannot succeed. It reads the pod, then watches from that
// resource version, and starts over when the watch ends or errors.
func (r *run) watchPod(ctx context.Context) (*corev1.ContainerStateTerminated, error) {
	pods := r.b.Client.CoreV1().Pods(r.req.Namespace)
	selector := fields.OneTermEqualSelector("metadata.name", r.name).String()
	errorsInARow := 0
	// retry waits before the next attempt after an API error, or returns
	// the error to give up with: the context's, or the last one after
	// maxWatchErrors in a row.
	retry := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errorsInARow++
		if errorsInARow >= maxWatchErrors {
			return err
		}
		r.b.logger().Step("watching the build pod failed; retrying", "error", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(errorsInARow) * 500 * time.Millisecond):
			return nil
		}
	}
	for {
		pod, err := pods.Get(ctx, r.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, &Failure{Reason: ReasonPodDeleted, Message: "the build pod was deleted before the build finished"}
		}
		if err != nil {
			if err := retry(err); err != nil {
				return nil, err
			}
			continue
		}
		if t, err := r.observe(watch.Event{Type: watch.Modified, Object: pod}); t != nil || err != nil {
			return t, err
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: pod.ResourceVersion})
		if err != nil {
			if err := retry(err); err != nil {
				return nil, err
			}
			continue
		}
		t, err := r.consume(ctx, w)
		w.Stop()
		if t != nil || err != nil {
			return t, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errorsInARow = 0
	}
}

// consume reads one watch until it ends. It returns (nil, nil) when the
// watch ended without a result, so the caller starts a new one.
func (r *run) consume(ctx context.Context, w watch.Interface) (*corev1.ContainerStateTerminated, error) {
	// A pending pod may not change for a long time; re-evaluating it
	// lets the unschedulable grace expire without a new event.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
			if r.last != nil && !r.unschedulableSince.IsZero() {
				if t, err := r.observe(watch.Event{Type: watch.Modified, Object: r.last}); t != nil || err != nil {
					return t, err
				}
			}
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return nil, nil
			}
			if t, err := r.observe(ev); t != nil || err != nil {
				return t, err
			}
		}
	}
}

// observe handles one watch event; it returns the executor's terminated
// state once there is one, or a Failure when the build cannot succeed.
func (r *run) observe(ev watch.Event) (*corev1.ContainerStateTerminated, error) {
	pod, ok := ev.Object.(*corev1.Pod)
	if !ok || pod.Name != r.name {
		return nil, nil
	}
	if ev.Type == watch.Deleted {
		return nil, &Failure{Reason: ReasonPodDeleted, Message: "the build pod was deleted before the build finished"}
	}
	r.last = pod
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			if r.unschedulableSince.IsZero() {
				r.unschedulableSince = r.b.now()
				r.b.logger().Step("build pod waits for a node", "pod", r.name, "reason", c.Message)
			}
			if r.b.now().Sub(r.unschedulableSince) >= r.b.unschedulableGrace() {
				return nil, &Failure{Reason: ReasonUnschedulable, Message: c.Message}
			}
		}
	}
	if pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == "DeadlineExceeded" {
		// The kubelet killed the executor; its exit code says nothing.
		return nil, &Failure{Reason: ReasonTimeout, Message: strings.TrimPrefix(pod.Status.Reason+": "+pod.Status.Message, ": ")}
	}
	if cs := executorStatus(pod); cs != nil {
		if w := cs.State.Waiting; w != nil {
			if reason, fatal := fatalWaitingReasons[w.Reason]; fatal {
				msg := w.Reason
				if w.Message != "" {
					msg += ": " + w.Message
				}
				return nil, &Failure{Reason: reason, Message: msg}
			}
		}
		if cs.State.Running != nil || cs.State.Terminated != nil {
			if !r.started && r.b.OnExecutorStarted != nil {
				r.b.OnExecutorStarted(pod.DeepCopy())
			}
			r.executorStarted()
		}
		if t := cs.State.Terminated; t != nil {
			return t.DeepCopy(), nil
		}
	}
	if pod.Status.Phase == corev1.PodFailed {
		reason := ReasonPodFailed
		if pod.Status.Reason == "DeadlineExceeded" {
			reason = ReasonTimeout
		}
		return nil, &Failure{Reason: reason, Message: strings.TrimPrefix(pod.Status.Reason+": "+pod.Status.Message, ": ")}
	}
	return nil, nil
}

func executorStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == ContainerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// executorStarted starts the context upload and the log follower, once.
func (r *run) executorStarted() {
	if r.started {
		return
	}
	r.started = true
	r.mu.Lock()
	r.timings[PhaseExecutorStart] = r.b.now().Sub(r.created)
	r.mu.Unlock()
	r.b.logger().Step("executor running", "pod", r.name, "after_seconds", r.timings[PhaseExecutorStart].Seconds())
	if r.req.WriteContext != nil {
		go r.upload()
	}
	go r.followLogs()
}

// upload streams the context into the executor's stdin. The upload ends
// when the writer is done; the attach session itself lasts until the
// executor exits, so only an attach error before that point fails the
// build.
func (r *run) upload() {
	start := r.b.now()
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := r.req.WriteContext(pw)
		written <- err
		pw.CloseWithError(err)
	}()
	attached := make(chan error, 1)
	go func() {
		err := r.b.Attacher.Attach(r.ctx, r.req.Namespace, r.name, ContainerName, pr)
		pr.CloseWithError(io.ErrClosedPipe)
		attached <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			r.cancel(&Failure{Reason: ReasonContextUpload, Message: "writing the build context", Err: err})
			return
		}
		r.mu.Lock()
		r.timings[PhaseContextUpload] = r.b.now().Sub(start)
		r.mu.Unlock()
		r.b.logger().Step("context uploaded", "seconds", r.timings[PhaseContextUpload].Seconds())
	case err := <-attached:
		if err == nil {
			err = errors.New("the attach session ended before the whole context was sent")
		}
		if r.ctx.Err() == nil {
			r.cancel(&Failure{Reason: ReasonContextUpload, Message: "streaming the build context to the executor", Err: err})
		}
	}
}

func (r *run) followLogs() {
	defer close(r.logsDone)
	stream, err := r.b.Client.CoreV1().Pods(r.req.Namespace).GetLogs(r.name, &corev1.PodLogOptions{
		Container: ContainerName, Follow: true, Timestamps: true,
	}).Stream(r.ctx)
	if err != nil {
		r.b.logger().Step("cannot follow the executor log", "error", err.Error())
		return
	}
	defer stream.Close()
	scanner := bufio.NewScanner(stream)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		ts, msg := splitLogLine(scanner.Text())
		r.b.logger().Output(msg)
		r.mu.Lock()
		r.tail.add(msg)
		r.phases.observe(ts, msg)
		r.mu.Unlock()
	}
}

// drainLogs waits for the log follower to reach the end of the
// executor's output, then folds the log's phases into the timings.
func (r *run) drainLogs() {
	if !r.started {
		return
	}
	timeout := r.b.LogDrainTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	select {
	case <-r.logsDone:
	case <-time.After(timeout):
		r.b.logger().Step("executor log did not end in time; timings may be incomplete")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phases.into(r.timings)
}

// ring keeps the last n lines.
type ring struct {
	buf  []string
	next int
	full bool
	mu   sync.Mutex
}

func newRing(n int) *ring { return &ring{buf: make([]string, n)} }

func (r *ring) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = line
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

func (r *ring) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.buf[:r.next]...)
	}
	return append(append([]string(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}
