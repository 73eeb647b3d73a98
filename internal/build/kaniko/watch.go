package kaniko

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// run is the state of one build pod while it is watched.
type run struct {
	e       *Executor
	spec    build.Spec
	name    string
	created time.Time

	ctx      context.Context
	cancel   context.CancelCauseFunc
	logCtx   context.Context
	stopLogs context.CancelFunc
	started  bool
	finished time.Time
	// terminated is set once the executor container was seen terminated:
	// its pod can be deleted at once, nothing runs in it any more.
	terminated bool

	// last is the pod as last observed. unschedulableSince and
	// pullFailingSince are when the pod was first seen waiting for a node
	// or failing to pull the executor image.
	last               *corev1.Pod
	unschedulableSince time.Time
	pullFailingSince   time.Time

	// mu guards timings, which the upload and the log follower write
	// while the watch goes on, and phases.
	mu       sync.Mutex
	timings  build.Timings
	tail     *ring
	phases   logPhases
	logsDone chan struct{}
}

func newRun(e *Executor, spec build.Spec, pod *corev1.Pod, created time.Time) *run {
	return &run{e: e, spec: spec, name: pod.Name, created: created, timings: build.Timings{}, tail: newRing(e.tailLines()), logsDone: make(chan struct{})}
}

// record sets a measured phase.
func (r *run) record(phase build.Phase, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timings[phase] = d
}

// pushed is what the executor's log says it pushed.
func (r *run) pushed() (digest string, tags []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phases.pushedTags(r.spec)
}

// measured copies the phases measured so far into t.
func (r *run) measured(t build.Timings) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, d := range r.timings {
		t[p] = d
	}
}

// imagePullReasons are waiting reasons of an executor image that could
// not be pulled. Whether waiting longer can help depends on the message.
var imagePullReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "RegistryUnavailable": true,
}

// fatalWaitingReasons end a build at once: waiting longer cannot help.
var fatalWaitingReasons = map[string]build.FailureReason{
	"InvalidImageName":           build.ReasonImagePull,
	"ErrImageNeverPull":          build.ReasonImagePull,
	"CreateContainerConfigError": build.ReasonContainerSetup,
	"CreateContainerError":       build.ReasonContainerSetup,
	"RunContainerError":          build.ReasonContainerSetup,
}

// permanentPullErrors are phrases of pull errors that mean the image is
// not there or not ours to pull: retrying gives the same answer.
var permanentPullErrors = []string{
	"not found", "manifest unknown", "name unknown", "notfound", "unauthorized", "denied", "forbidden",
	"invalid reference", "does not exist",
}

// PermanentPullError reports whether a kubelet pull error message means
// the image does not exist or may not be pulled, as opposed to a registry
// that is unreachable or overloaded for now.
func PermanentPullError(message string) bool {
	m := strings.ToLower(message)
	for _, p := range permanentPullErrors {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

func (r *run) wait(parent context.Context) (*corev1.ContainerStateTerminated, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	r.ctx, r.cancel = ctx, cancel
	// The log is followed past the watch's end, to its own end or until
	// Build stops it: the last lines of a pod that went away still tell
	// what it pushed.
	r.logCtx, r.stopLogs = context.WithCancel(context.WithoutCancel(parent))

	term, err := r.watchPod(ctx)
	if err != nil {
		var f *build.Failure
		if errors.As(err, &f) {
			return nil, f
		}
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			return nil, cause
		}
		if f := contextFailure(parent, r.name); f != nil {
			return nil, f
		}
		return nil, &build.Failure{Reason: build.ReasonWatch, Err: err}
	}
	r.finished = r.e.Now.Now()
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
	pods := r.e.Client.CoreV1().Pods(r.spec.Namespace)
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
		r.e.logger().Step("watching the build pod failed; retrying", "error", err.Error())
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
			return nil, &build.Failure{Reason: build.ReasonPodDeleted, Message: "the build pod was deleted before the build finished"}
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
	// A waiting pod may not change for a long time; re-evaluating it lets
	// the unschedulable and pull timeouts expire without a new event.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
			if r.last != nil && (!r.unschedulableSince.IsZero() || !r.pullFailingSince.IsZero()) {
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
		return nil, &build.Failure{Reason: build.ReasonPodDeleted, Message: "the build pod was deleted before the build finished"}
	}
	r.last = pod
	if f := r.checkScheduling(pod); f != nil {
		return nil, f
	}
	if pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == "DeadlineExceeded" {
		// The kubelet killed the executor; its exit code says nothing.
		return nil, &build.Failure{Reason: build.ReasonTimeout, Message: strings.TrimPrefix(pod.Status.Reason+": "+pod.Status.Message, ": ")}
	}
	if cs := executorStatus(pod); cs != nil {
		if w := cs.State.Waiting; w != nil {
			if f := r.checkWaiting(w); f != nil {
				return nil, f
			}
		} else {
			r.pullFailingSince = time.Time{}
		}
		if cs.State.Running != nil || cs.State.Terminated != nil {
			if !r.started && r.e.OnExecutorStarted != nil {
				r.e.OnExecutorStarted(pod.DeepCopy())
			}
			r.executorStarted()
		}
		if t := cs.State.Terminated; t != nil {
			r.terminated = true
			if f := lostPod(pod, t); f != nil {
				return nil, f
			}
			return t.DeepCopy(), nil
		}
	}
	if f := lostPod(pod, nil); f != nil && pod.Status.Phase == corev1.PodFailed {
		return nil, f
	}
	if pod.Status.Phase == corev1.PodFailed {
		reason := build.ReasonPodFailed
		if pod.Status.Reason == "DeadlineExceeded" {
			reason = build.ReasonTimeout
		}
		return nil, &build.Failure{Reason: reason, Message: strings.TrimPrefix(pod.Status.Reason+": "+pod.Status.Message, ": ")}
	}
	return nil, nil
}

// lostPod says whether the pod was taken away before the executor
// finished: deleted (kubectl delete, a drain, a node gone), evicted or
// preempted (DisruptionTarget). An executor that exited 0 had finished
// and pushed; any other end of such a pod is the disruption's, not the
// build's, so the build is lost and may run again in a new pod.
func lostPod(pod *corev1.Pod, term *corev1.ContainerStateTerminated) *build.Failure {
	if term != nil && term.ExitCode == 0 {
		return nil
	}
	why, reason := "", build.ReasonPodFailed
	switch {
	case pod.DeletionTimestamp != nil:
		why, reason = "the build pod was deleted while the executor ran", build.ReasonPodDeleted
	case pod.Status.Reason == "Evicted" || pod.Status.Reason == "NodeLost" || pod.Status.Reason == "Shutdown" || pod.Status.Reason == "Terminated":
		why = strings.TrimSuffix(pod.Status.Reason+": "+pod.Status.Message, ": ")
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			why = "the build pod was disrupted (" + c.Reason + ": " + c.Message + ")"
		}
	}
	if why == "" {
		return nil
	}
	if term != nil {
		why += fmt.Sprintf("; the executor was stopped with exit code %d", term.ExitCode)
	}
	return &build.Failure{Reason: reason, Message: why}
}

// checkScheduling fails the build once the pod waited for a node longer
// than the unschedulable timeout.
func (r *run) checkScheduling(pod *corev1.Pod) *build.Failure {
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		if c.Status != corev1.ConditionFalse || c.Reason != corev1.PodReasonUnschedulable {
			r.unschedulableSince = time.Time{}
			continue
		}
		now := r.e.Now.Now()
		if r.unschedulableSince.IsZero() {
			r.unschedulableSince = now
			r.e.logger().Step("build pod waits for a node", "pod", r.name, "reason", c.Message)
		}
		if limit := r.e.unschedulableTimeout(); limit > 0 && now.Sub(r.unschedulableSince) >= limit {
			return &build.Failure{Reason: build.ReasonUnschedulable, Message: c.Message + " (waited " + limit.String() + ")"}
		}
	}
	return nil
}

// checkWaiting fails the build on a waiting reason that cannot get
// better, and on pull failures that lasted longer than the pull timeout.
func (r *run) checkWaiting(w *corev1.ContainerStateWaiting) *build.Failure {
	msg := w.Reason
	if w.Message != "" {
		msg += ": " + w.Message
	}
	if reason, fatal := fatalWaitingReasons[w.Reason]; fatal {
		return &build.Failure{Reason: reason, Message: msg}
	}
	if !imagePullReasons[w.Reason] {
		return nil
	}
	if PermanentPullError(w.Message) {
		return &build.Failure{Reason: build.ReasonImagePull, Message: msg}
	}
	now := r.e.Now.Now()
	if r.pullFailingSince.IsZero() {
		r.pullFailingSince = now
		r.e.logger().Step("pulling the executor image failed; the kubelet retries", "pod", r.name, "error", msg)
	}
	if limit := r.e.imagePullTimeout(); now.Sub(r.pullFailingSince) >= limit {
		return &build.Failure{Reason: build.ReasonImagePull, Message: msg + " (still failing after " + limit.String() + ")"}
	}
	return nil
}

// executorImageDigest is the digest the node ran the executor image at:
// the repository digest in its container status, when the runtime
// reported one (an image ID alone is the config's digest, not the
// manifest's).
func (r *run) executorImageDigest() string {
	if r.last == nil {
		return ""
	}
	if cs := executorStatus(r.last); cs != nil {
		if _, d, ok := strings.Cut(cs.ImageID, "@"); ok && imageref.ValidateDigest(d) == nil {
			return d
		}
	}
	return ""
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
	took := r.e.Now.Now().Sub(r.created)
	r.record(build.PhaseExecutorStart, took)
	r.e.logger().Step("executor running", "pod", r.name, "after_seconds", took.Seconds())
	if r.spec.Context.Local() {
		go r.upload()
	}
	go r.followLogs()
}
