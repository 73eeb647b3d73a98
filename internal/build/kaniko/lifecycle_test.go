package kaniko

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube/kubetest"
)

// TestDisruptedPodIsLost: a pod deleted gracefully (kubectl delete, a
// drain), evicted or preempted stops the executor with a signal's exit
// code; that is the disruption's doing, and the build runs again.
func TestDisruptedPodIsLost(t *testing.T) {
	for name, disrupt := range map[string]func(*corev1.Pod){
		"deleted with a grace period": func(p *corev1.Pod) {
			now := metav1.Now()
			p.DeletionTimestamp = &now
			terminatedWith(143, "Error")(p)
		},
		"preempted": func(p *corev1.Pod) {
			terminatedWith(137, "Error")(p)
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "PreemptionByScheduler", Message: "preempted"}}
		},
		"evicted": func(p *corev1.Pod) {
			terminatedWith(137, "Error")(p)
			p.Status.Reason = "Evicted"
		},
	} {
		t.Run(name, func(t *testing.T) {
			client := kubetest.NewClientset()
			client.Play(running, disrupt)
			_, err := (&Executor{Client: client, Attacher: &recordingAttacher{}}).Build(context.Background(), specWithContext(t, "x"))
			var f *build.Failure
			if !errors.As(err, &f) || (f.Reason != build.ReasonPodDeleted && f.Reason != build.ReasonPodFailed) {
				t.Fatalf("err = %v, want the pod lost", err)
			}
		})
	}
	// An executor that exited 0 had pushed: a deletion after that is no
	// loss.
	client := kubetest.NewClientset()
	client.Play(running, func(p *corev1.Pod) {
		now := metav1.Now()
		p.DeletionTimestamp = &now
		terminated(0, testDigest)(p)
	})
	if res, err := (&Executor{Client: client, Attacher: &recordingAttacher{}}).Build(context.Background(), specWithContext(t, "x")); err != nil || res.Digest != testDigest {
		t.Fatalf("finished build: %v, %v", res, err)
	}
}

func TestTransientRegistryFailure(t *testing.T) {
	for _, tt := range []struct {
		name string
		code int32
		tail []string
		want bool
	}{
		{name: "base download", code: 1, want: true, tail: []string{"INFO[0001] Retrieving image manifest base:1",
			"error building image: error building stage: failed to get filesystem from image: unexpected EOF"}},
		{name: "push refused", code: 1, want: true, tail: []string{"error pushing image: failed to push to destination r/app:latest: Put \"http://r/v2/\": dial tcp 10.0.0.1:5000: connect: connection refused"}},
		{name: "a registry that stopped answering mid-download", code: 1, want: true, tail: []string{
			"error building image: error building stage: failed to get filesystem from image: read tcp 10.244.3.197:53624->10.96.165.155:5000: read: connection timed out"}},
		{name: "a 503", code: 1, want: true, tail: []string{"error building image: GET http://r/v2/base/manifests/1: unexpected status code 503 Service Unavailable"}},
		{name: "a failing RUN that fetched something", code: 1, tail: []string{"curl: (7) connection refused",
			"error building image: error building stage: failed to execute command: waiting for process to exit: exit status 1"}},
		{name: "a RUN's own exit code", code: 7, tail: []string{"error building image: connection refused"}},
		{name: "a missing base", code: 1, tail: []string{"error building image: GET http://r/v2/base/manifests/1: MANIFEST_UNKNOWN: manifest unknown"}},
		{name: "nothing Kaniko said", code: 1, tail: []string{"connection refused"}},
		{name: "a registry stopped during the push check", code: 1, want: true, tail: []string{
			`error checking push permissions: checking push permission for "registry.kube-system.svc.cluster.local:5000/app:latest": Post "http://registry.kube-system.svc.cluster.local:5000/v2/app/blobs/uploads/": EOF`}},
		{name: "a registry that closed the connection on a manifest", code: 1, want: true, tail: []string{
			`error building image: GET "http://r/v2/base/manifests/1": EOF`}},
		{name: "a context archive that ends early", code: 1, tail: []string{"error building image: reading the build context: EOF"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := transientRegistryFailure(tt.code, tt.tail); got != tt.want {
				t.Errorf("transient = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAmbiguousCreateFindsTheFirstPod: a create that timed out on the
// client may have created the pod; the retry finds it by its nonce
// instead of starting a second build.
func TestAmbiguousCreateFindsTheFirstPod(t *testing.T) {
	client := kubetest.NewClientset()
	first := true
	client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if !first {
			return false, nil, nil
		}
		first = false
		pod := action.(k8stesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		if err := client.Tracker().Create(corev1.SchemeGroupVersion.WithResource("pods"), pod, pod.Namespace); err != nil {
			t.Error(err)
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			client.Update("builds", pod.Name, running)
			time.Sleep(20 * time.Millisecond)
			client.Update("builds", pod.Name, terminated(0, testDigest))
		}()
		return true, nil, apierrors.NewServerTimeout(corev1.Resource("pods"), "create", 1)
	})
	res, err := (&Executor{Client: client, Attacher: &recordingAttacher{}}).Build(context.Background(), specWithContext(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if !podName.MatchString(res.Pod) || client.Created() != 0 {
		t.Errorf("built in %s with %d more pods created; want the first pod only", res.Pod, client.Created())
	}
}

// TestLeftoverPodsAreDeleted: the pod a killed provider left behind for
// the same image is deleted by the next build; a pod of this process's
// session (a concurrent build of the same image) is not.
func TestLeftoverPodsAreDeleted(t *testing.T) {
	spec := specWithContext(t, "x")
	leftover := func(name, session string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "builds", Labels: map[string]string{
			LabelManagedBy: ManagedBy, LabelBuildKey: BuildKey(spec), LabelSession: session}}}
	}
	other := spec
	other.Tags = []string{"other"}
	unrelated := leftover("unrelated", "dead")
	unrelated.Labels[LabelBuildKey] = BuildKey(other)
	beating := func(name string, ago time.Duration) *corev1.Pod {
		p := leftover(name, "elsewhere")
		p.Annotations = map[string]string{AnnotationHeartbeat: time.Now().Add(-ago).UTC().Format(time.RFC3339)}
		return p
	}
	client := kubetest.NewClientset(leftover("killed", "dead"), leftover("sibling", "mine"), unrelated,
		beating("another-apply", 5*time.Second), beating("stopped-beating", 4*heartbeatInterval))
	client.Play(running, terminated(0, testDigest))
	if _, err := (&Executor{Client: client, Attacher: &recordingAttacher{}, Session: "mine"}).Build(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	// A pod whose builder is alive (another state, another machine
	// building the same image now) stays; one whose heartbeat stopped
	// is a leftover.
	for name, want := range map[string]bool{"killed": false, "sibling": true, "unrelated": true, "another-apply": true, "stopped-beating": false} {
		_, err := client.CoreV1().Pods("builds").Get(context.Background(), name, metav1.GetOptions{})
		if (err == nil) != want {
			t.Errorf("pod %s exists: %v, want %v", name, err == nil, want)
		}
	}
}

// TestQuotaIsAQueue: a pod refused because the namespace's ResourceQuota
// is used up waits for capacity, and the wait is reported as queued;
// other refusals fail at once.
func TestQuotaIsAQueue(t *testing.T) {
	client := kubetest.NewClientset()
	refusals := 2
	client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if refusals > 0 {
			refusals--
			return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "onesbuild-x",
				errors.New("exceeded quota: build-pods, requested: pods=1, used: pods=1, limited: pods=1"))
		}
		return false, nil, nil
	})
	client.Play(running, terminated(0, testDigest))
	res, err := (&Executor{Client: client, Attacher: &recordingAttacher{}}).Build(context.Background(), specWithContext(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if q := res.Timings[build.PhaseQueued]; q < 2*time.Second {
		t.Errorf("queued %v, want the quota waits (1s, 2s)", q)
	}

	full := kubetest.NewClientset()
	full.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "", errors.New("exceeded quota: build-pods"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err = (&Executor{Client: full, Attacher: &recordingAttacher{}}).Build(ctx, specWithContext(t, "x"))
	var f *build.Failure
	if !errors.As(err, &f) || f.Reason != build.ReasonTimeout || !strings.Contains(f.Message, "ResourceQuota") {
		t.Fatalf("a quota that never frees: err = %v, want the timeout naming the quota", err)
	}

	policy := kubetest.NewClientset()
	policy.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "", errors.New(`pods "x" is forbidden: violates PodSecurity "restricted:latest"`))
	})
	start := time.Now()
	_, err = (&Executor{Client: policy, Attacher: &recordingAttacher{}}).Build(context.Background(), specWithContext(t, "x"))
	if !errors.As(err, &f) || f.Reason != build.ReasonPodCreate || time.Since(start) > time.Second {
		t.Fatalf("an admission policy refusal: err = %v after %v, want an immediate create failure", err, time.Since(start))
	}
}

// TestPresignedContextURLStaysInASecret: a URL context with a query
// string (a presigned URL) reaches Kaniko from a Secret of the build's
// own, never the pod spec, and the Secret is gone afterwards.
func TestPresignedContextURLStaysInASecret(t *testing.T) {
	const url = "https://bucket.example.com/ctx.tar.gz?X-Amz-Signature=deadbeef"
	client := kubetest.NewClientset()
	var seen *corev1.Pod
	client.OnPodCreated(func(p *corev1.Pod) { seen = p })
	client.Play(running, terminated(0, testDigest))
	spec := baseSpec()
	spec.Context = build.Context{URL: url}
	if _, err := (&Executor{Client: client}).Build(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if seen == nil {
		t.Fatal("no pod")
	}
	podYAML, _ := yaml.Marshal(seen)
	if strings.Contains(string(podYAML), "deadbeef") {
		t.Errorf("the presigned URL is in the pod spec:\n%s", podYAML)
	}
	c := seen.Spec.Containers[0]
	if c.Args[0] != "--context=$("+contextURLEnv+")" || len(c.Env) == 0 || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.SecretKeyRef == nil {
		t.Errorf("args %v, env %+v: want the URL from a Secret", c.Args[:1], c.Env)
	}
	left, _ := client.CoreV1().Secrets("builds").List(context.Background(), metav1.ListOptions{})
	if len(left.Items) != 0 {
		t.Errorf("the context URL's Secret is left behind: %s", left.Items[0].Name)
	}
}

// TestQuotaTooSmallFailsAtOnce: a quota whose hard limit is below what
// the pod alone requests can never admit it; the build fails at once,
// naming the resource, the request and the limit.
func TestQuotaTooSmallFailsAtOnce(t *testing.T) {
	client := kubetest.NewClientset()
	client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "onesbuild-x",
			errors.New("exceeded quota: small, requested: limits.cpu=1,requests.memory=512Mi, used: limits.cpu=0,requests.memory=0, limited: limits.cpu=2,requests.memory=256Mi"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := (&Executor{Client: client, Attacher: &recordingAttacher{}}).Build(ctx, specWithContext(t, "x"))
	var f *build.Failure
	if !errors.As(err, &f) || f.Reason != build.ReasonQuotaTooSmall || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v, want an immediate QuotaTooSmall", err, time.Since(start))
	}
	for _, want := range []string{"requests.memory=512Mi", `"small"`, "256Mi"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q does not name %s", f.Message, want)
		}
	}
	assertNoPods(t, client, "builds")
}

// TestAmbiguousCreateCommittedLateRunsOnePod: the API server answers a
// create with a timeout and commits the pod later: before the retry
// looks, after it, or after the build is over. One pod builds, whichever
// commits first, and none is left: the retry creates the same name.
func TestAmbiguousCreateCommittedLateRunsOnePod(t *testing.T) {
	for _, late := range []time.Duration{100 * time.Millisecond, 700 * time.Millisecond, 1500 * time.Millisecond} {
		t.Run(late.String(), func(t *testing.T) {
			client := kubetest.NewClientset()
			var once sync.Once
			committed := make(chan error, 1)
			client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
				handled := false
				once.Do(func() {
					handled = true
					pod := action.(k8stesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
					go func() {
						time.Sleep(late)
						committed <- client.Tracker().Create(corev1.SchemeGroupVersion.WithResource("pods"), pod, pod.Namespace)
					}()
				})
				if handled {
					return true, nil, apierrors.NewServerTimeout(corev1.Resource("pods"), "create", 1)
				}
				return false, nil, nil
			})
			// A kubelet for whichever pod is stored, by any path.
			stop := make(chan struct{})
			defer close(stop)
			var seenMu sync.Mutex
			seen := map[string]bool{}
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					list, _ := client.CoreV1().Pods("builds").List(context.Background(), metav1.ListOptions{})
					seenMu.Lock()
					for _, p := range list.Items {
						if !seen[p.Name] && p.DeletionTimestamp == nil {
							seen[p.Name] = true
							go func(name string) {
								client.Update("builds", name, running)
								time.Sleep(2 * time.Second)
								client.Update("builds", name, terminated(0, testDigest))
							}(p.Name)
						}
					}
					seenMu.Unlock()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			res, err := (&Executor{Client: client, Attacher: &recordingAttacher{}}).Build(ctx, specWithContext(t, "x"))
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if !podName.MatchString(res.Pod) {
				t.Errorf("pod %q", res.Pod)
			}
			// Found by the lookup (committed before it), or refused as a
			// second pod of the same name.
			if commitErr := <-committed; commitErr != nil && !apierrors.IsAlreadyExists(commitErr) {
				t.Fatalf("the late commit: %v", commitErr)
			}
			if client.Created() > 1 {
				t.Errorf("%d pods created by the retries, want at most 1", client.Created())
			}
			time.Sleep(50 * time.Millisecond)
			seenMu.Lock()
			if len(seen) != 1 {
				t.Errorf("pods that ran: %v, want one", seen)
			}
			seenMu.Unlock()
			assertNoPods(t, client, "builds")
		})
	}
}

// TestBuildPodHeartbeat: the builder renews its pod's heartbeat while it
// waits for the executor, so other runs can tell a live build from a
// leftover.
func TestBuildPodHeartbeat(t *testing.T) {
	old := heartbeatInterval
	heartbeatInterval = 20 * time.Millisecond
	t.Cleanup(func() { heartbeatInterval = old })
	client := kubetest.NewClientset()
	client.OnPodCreated(func(p *corev1.Pod) {
		if _, err := time.Parse(time.RFC3339, p.Annotations[AnnotationHeartbeat]); err != nil {
			t.Errorf("a new pod has no heartbeat: %v", p.Annotations)
		}
		client.Update(p.Namespace, p.Name, running)
		time.Sleep(300 * time.Millisecond)
		client.Update(p.Namespace, p.Name, terminated(0, testDigest))
	})
	if _, err := (&Executor{Client: client, Attacher: &recordingAttacher{}}).Build(context.Background(), specWithContext(t, "x")); err != nil {
		t.Fatal(err)
	}
	patches := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "patch" && a.GetResource().Resource == "pods" {
			patches++
		}
	}
	if patches < 3 {
		t.Errorf("%d heartbeat patches in a 300ms build every 20ms, want several", patches)
	}
}

// TestLeftoverContextURLSecretsAreDeleted: a Secret holding a presigned
// context URL that a killed provider made and never handed to a pod is
// deleted by the next build of the image; one a pod owns is not.
func TestLeftoverContextURLSecretsAreDeleted(t *testing.T) {
	spec := build.Spec{Namespace: "builds", Repository: "registry.example.com/new-image", Tags: []string{"latest"},
		Context: build.Context{URL: "https://bucket.example.com/ctx.tar.gz?X-Amz-Signature=deadbeef"}}
	secret := func(name string, owned bool) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "builds", Labels: map[string]string{
			LabelManagedBy: ManagedBy, LabelBuildKey: BuildKey(spec), LabelSession: "dead"}}}
		if owned {
			s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "u"}}
		}
		return s
	}
	client := kubetest.NewClientset(secret("orphan", false), secret("owned", true))
	client.Play(running, terminated(0, testDigest))
	if _, err := (&Executor{Client: client}).Build(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"orphan": false, "owned": true} {
		_, err := client.CoreV1().Secrets("builds").Get(context.Background(), name, metav1.GetOptions{})
		if (err == nil) != want {
			t.Errorf("secret %s exists: %v, want %v", name, err == nil, want)
		}
	}
}
