package kaniko

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// Labels that tie a build pod to its build, its resource and the process
// that created it.
const (
	// LabelBuildKey is the same for every build of one image (namespace,
	// repository and tags), so the next build finds the pods a killed
	// provider left behind.
	LabelBuildKey = "onesbuild.dev/build-key"
	// LabelNonce is unique to one pod creation, so a create retried after
	// an ambiguous error finds the pod the first attempt made.
	LabelNonce = "onesbuild.dev/nonce"
	// LabelSession names the process that created the pod; pods of the
	// same build key from another session are leftovers.
	LabelSession = "onesbuild.dev/session"
)

// processSession is the session of executors that name none: one per
// process, so concurrent builds of one image in one apply never take
// each other for leftovers.
var processSession = randomHex(8)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// BuildKey identifies the builds of one image: its namespace, repository
// and tags.
func BuildKey(spec build.Spec) string {
	sum := sha256.Sum256([]byte(spec.Namespace + "\n" + spec.Repository + "\n" + strings.Join(spec.Tags, ",")))
	return hex.EncodeToString(sum[:])[:16]
}

// deleteLeftovers deletes the build pods of the same build key that
// another session created: a provider killed mid-build leaves its pod
// running until its deadline, then Failed forever, and that pod may
// still push over what this build pushes. Failures are warnings.
func (e *Executor) deleteLeftovers(ctx context.Context, spec build.Spec, session string) []build.Warning {
	selector := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy, LabelBuildKey: BuildKey(spec)}).String()
	list, err := e.Client.CoreV1().Pods(spec.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil // the documented Role may list pods; without it there is nothing to find
		}
		return []build.Warning{{Kind: build.WarningCleanup, Message: "build pods an earlier run left behind could not be listed: " + err.Error()}}
	}
	var warnings []build.Warning
	now := e.Now.Now()
	for _, p := range list.Items {
		if p.Labels[LabelSession] == session || p.DeletionTimestamp != nil {
			continue
		}
		if alive(&p, now) {
			// Another run (another state, another machine) builds the
			// same image right now: its pod is not ours to delete.
			e.logger().Step("another run is building the same image; its pod is left alone", "namespace", p.Namespace, "pod", p.Name)
			continue
		}
		e.logger().Step("deleting a build pod an earlier run left behind", "namespace", p.Namespace, "pod", p.Name, "phase", string(p.Status.Phase))
		if err := e.deletePod(ctx, p.Namespace, p.Name, false); err != nil {
			warnings = append(warnings, build.Warning{Kind: build.WarningCleanup,
				Message: fmt.Sprintf("build pod %s/%s, left behind by an earlier run, could not be deleted: %v", p.Namespace, p.Name, err)})
		}
	}
	return append(warnings, e.deleteLeftoverSecrets(ctx, spec, session)...)
}

// deleteLeftoverSecrets deletes the context-URL Secrets of the same build
// key that another session created and never handed to a pod (a
// provider killed between the two): a Secret a pod owns goes with it.
func (e *Executor) deleteLeftoverSecrets(ctx context.Context, spec build.Spec, session string) []build.Warning {
	if !needsURLSecret(spec) {
		return nil
	}
	selector := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy, LabelBuildKey: BuildKey(spec)}).String()
	list, err := e.Client.CoreV1().Secrets(spec.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil // without list on secrets (the presigned Role grants it) there is nothing to find
	}
	var warnings []build.Warning
	for _, sec := range list.Items {
		if sec.Labels[LabelSession] == session || len(sec.OwnerReferences) > 0 || sec.DeletionTimestamp != nil {
			continue
		}
		e.logger().Step("deleting a context URL Secret an earlier run left behind", "namespace", sec.Namespace, "secret", sec.Name)
		if err := e.deleteURLSecret(ctx, sec.Namespace, sec.Name); err != nil {
			warnings = append(warnings, build.Warning{Kind: build.WarningCleanup,
				Message: fmt.Sprintf("the context URL Secret %s/%s, left behind by an earlier run, could not be deleted: %v", sec.Namespace, sec.Name, err)})
		}
	}
	return warnings
}

// AnnotationHeartbeat is when the process building in a pod last said
// it is alive (RFC 3339); it renews it every heartbeatInterval.
const AnnotationHeartbeat = "onesbuild.dev/heartbeat"

// heartbeatInterval is a variable for tests.
var heartbeatInterval = 15 * time.Second

// alive tells a pod whose builder renewed its heartbeat lately: three
// missed renewals make it a leftover. A pod without one (made by an
// older version, or by a builder not allowed to patch pods) is judged
// by its session alone.
func alive(p *corev1.Pod, now time.Time) bool {
	beat, err := time.Parse(time.RFC3339, p.Annotations[AnnotationHeartbeat])
	return err == nil && now.Sub(beat) < 3*heartbeatInterval
}

// heartbeat renews the pod's heartbeat until the returned stop is
// called. Without patch on pods it stops quietly: the pod is then judged
// by its session.
func (e *Executor) heartbeat(ctx context.Context, pod *corev1.Pod) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(heartbeatInterval):
			}
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, AnnotationHeartbeat, e.Now.Now().UTC().Format(time.RFC3339))
			if _, err := e.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
					return
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// createPod creates the pod. Errors the API server reports as transient
// (timeouts, throttling, conflicts, restarts) are retried with backoff,
// and before each retry the pod the failed attempt may have made after
// all is looked up by its nonce: found, it is the build's pod. A pod
// refused because a ResourceQuota of the namespace is used up waits for
// capacity, with backoff, until ctx ends: the quota is the queue that
// every run sharing the namespace goes through. It returns how long it
// waited for quota.
func (e *Executor) createPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, time.Duration, error) {
	pods := e.Client.CoreV1().Pods(pod.Namespace)
	// The pod's name is its own, from the nonce, not one the API server
	// generates: a create answered with an error and committed anyway,
	// however late, then collides with the retry (AlreadyExists) instead
	// of becoming a second pod.
	if nonce := pod.Labels[LabelNonce]; pod.Name == "" && pod.GenerateName != "" && len(nonce) >= nonceNameChars {
		pod = pod.DeepCopy()
		pod.Name, pod.GenerateName = pod.GenerateName+nonce[:nonceNameChars], ""
	}
	if pod.Annotations[AnnotationHeartbeat] == "" {
		pod = pod.DeepCopy()
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[AnnotationHeartbeat] = e.Now.Now().UTC().Format(time.RFC3339)
	}
	delay, quotaDelay := 500*time.Millisecond, time.Second
	var queued time.Duration
	var quotaSince time.Time
	ambiguous := false
	for attempt := 1; ; {
		// After an error that may hide a pod the API server commits
		// late, look for it once the pause is over, not right after the
		// error: found, it is the build's pod.
		if ambiguous {
			if found := e.findByNonce(ctx, pod); found != nil {
				e.logger().Step("the failed attempt had created the pod", "pod", found.Name)
				return found, queued, nil
			}
		}
		created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
		if err == nil {
			if !quotaSince.IsZero() {
				queued = e.Now.Now().Sub(quotaSince)
			}
			if ambiguous {
				// A pod an earlier attempt made even later than the
				// lookup: this build runs in one pod.
				e.deleteDuplicates(ctx, created)
			}
			return created, queued, nil
		}
		wait := delay
		switch {
		case ambiguous && apierrors.IsAlreadyExists(err):
			if found := e.findByNonce(ctx, pod); found != nil {
				e.logger().Step("the failed attempt had created the pod", "pod", found.Name)
				return found, queued, nil
			}
			return nil, queued, err
		case quotaExceeded(err):
			if never := quotaNeverAdmits(err); never != "" {
				return nil, queued, &build.Failure{Reason: build.ReasonQuotaTooSmall, Message: never, Err: err}
			}
			if quotaSince.IsZero() {
				quotaSince = e.Now.Now()
				e.logger().Step("the namespace's ResourceQuota is used up; waiting for capacity", "namespace", pod.Namespace, "quota", err.Error())
			}
			wait, quotaDelay = quotaDelay, min(2*quotaDelay, 10*time.Second)
		case transientAPIError(err) && attempt < maxCreateAttempts:
			attempt++
			ambiguous = true
			e.logger().Step("creating the build pod failed; retrying", "error", err.Error(), "attempt", attempt)
			delay *= 2
		default:
			if !quotaSince.IsZero() {
				queued = e.Now.Now().Sub(quotaSince)
			}
			return nil, queued, err
		}
		select {
		case <-ctx.Done():
			if !quotaSince.IsZero() {
				queued = e.Now.Now().Sub(quotaSince)
			}
			// The last attempt may have created the pod after all.
			if found := e.findByNonce(context.WithoutCancel(ctx), pod); found != nil {
				_ = e.deletePod(ctx, found.Namespace, found.Name, false)
			}
			return nil, queued, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// findByNonce returns the pod created with pod's nonce, if any.
func (e *Executor) findByNonce(ctx context.Context, pod *corev1.Pod) *corev1.Pod {
	nonce := pod.Labels[LabelNonce]
	if nonce == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := e.Client.CoreV1().Pods(pod.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelNonce + "=" + nonce})
	if err != nil || len(list.Items) == 0 {
		return nil
	}
	return &list.Items[0]
}

// deleteDuplicates deletes the pods other than pod made with its nonce:
// attempts the API server answered with an error and committed anyway.
// Nothing ran in them that this build waits for.
func (e *Executor) deleteDuplicates(ctx context.Context, pod *corev1.Pod) {
	nonce := pod.Labels[LabelNonce]
	if nonce == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	list, err := e.Client.CoreV1().Pods(pod.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelNonce + "=" + nonce})
	if err != nil {
		return
	}
	for _, other := range list.Items {
		if other.Name != pod.Name {
			e.logger().Step("deleting a second pod of this build that a failed create made after all", "pod", other.Name)
			_ = e.deletePod(ctx, other.Namespace, other.Name, false)
		}
	}
}

// quotaFields parses the ResourceQuota admission plugin's refusal:
// "exceeded quota: <name>, requested: <r>=<q>,..., used: ..., limited: ...".
var quotaFields = regexp.MustCompile(`exceeded quota: ([^,]+), requested: (.*), used: (.*), limited: (.*)$`)

// quotaNeverAdmits describes a refusal that waiting cannot end: the pod
// alone requests more of a resource than the quota allows in all. ""
// when capacity may yet free up, or the message does not parse.
func quotaNeverAdmits(err error) string {
	m := quotaFields.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	requested, limited := quantities(m[2]), quantities(m[4])
	for name, want := range requested {
		if hard, ok := limited[name]; ok && want.Cmp(hard) > 0 {
			return fmt.Sprintf("the build pod requests %s=%s and the namespace's ResourceQuota %q allows %s in all, so it can never start",
				name, want.String(), m[1], hard.String())
		}
	}
	return ""
}

// quantities parses "name=quantity,name=quantity".
func quantities(s string) map[string]resource.Quantity {
	out := map[string]resource.Quantity{}
	for _, pair := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			continue
		}
		if q, err := resource.ParseQuantity(value); err == nil {
			out[name] = q
		}
	}
	return out
}

// nonceNameChars of the nonce end the pod's name: podNamePrefix is at
// most 51 characters, and a pod's name becomes its hostname (63 at most).
const nonceNameChars = 10

// maxCreateAttempts bounds pod creation attempts after transient errors.
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

// quotaExceeded reports a pod refused by the ResourceQuota admission
// plugin because the namespace's quota is used up (not because the pod
// lacks requests a quota demands, which waiting does not fix).
func quotaExceeded(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota")
}

// deletePod removes the pod even when ctx was cancelled: cleanup must
// happen on Ctrl-C too. A pod whose executor may still run is deleted
// with a short grace period and waited for, so that nothing is pushed
// after the build reported its end; one that finished goes at once.
func (e *Executor) deletePod(ctx context.Context, namespace, name string, finished bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	grace := int64(terminationGrace)
	if finished {
		grace = 0
	}
	pods := e.Client.CoreV1().Pods(namespace)
	err := pods.Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: &grace,
		PropagationPolicy:  ptr(metav1.DeletePropagationBackground),
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !finished {
		if err := e.waitGone(ctx, namespace, name); err != nil {
			return err
		}
	}
	e.logger().Step("build pod deleted", "namespace", namespace, "pod", name)
	return nil
}

// terminationGrace is how long the executor gets to stop, in seconds:
// the pod's terminationGracePeriodSeconds.
const terminationGrace = 5

// waitGone waits until the pod no longer exists.
func (e *Executor) waitGone(ctx context.Context, namespace, name string) error {
	for {
		_, err := e.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the pod did not go away within 30s of its deletion: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
