package kaniko

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube/kubetest"
)

var testDigest = "sha256:" + strings.Repeat("5e", 32)

// recordingAttacher keeps what was streamed to stdin.
type recordingAttacher struct {
	mu   sync.Mutex
	data []byte
	err  error
}

func (a *recordingAttacher) Attach(ctx context.Context, ns, pod, container string, stdin io.Reader) error {
	if a.err != nil {
		return a.err
	}
	data, err := io.ReadAll(stdin)
	a.mu.Lock()
	a.data = data
	a.mu.Unlock()
	return err
}

func running(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

func terminatedWith(code int32, reason string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason},
		}}}
	}
}

func hashOf(t *testing.T, s build.Spec) string {
	t.Helper()
	sum, err := s.Context.Source.Hash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum.SHA256
}

func terminated(code int32, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodSucceeded
		if code != 0 {
			p.Status.Phase = corev1.PodFailed
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: map[bool]string{true: "Completed", false: "Error"}[code == 0], Message: message},
		}}}
	}
}

func waiting(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
	}
}

// specWithContext is a spec whose context holds one file, main,
// archived as build.SnapshotContext archives it before a build.
func specWithContext(t *testing.T, content string) build.Spec {
	t.Helper()
	r := baseSpec()
	r.Context = build.Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": "FROM scratch\nCOPY main /\n", "main": content}}}
	r, cleanup, err := build.TakeSnapshot(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return r
}

// sha256Of is the hash of the tar inside a gzip stream, as a context
// hash is written.
func sha256Of(t *testing.T, gz []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		t.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// filesOf reads a gzip tar stream into path -> content.
func filesOf(t *testing.T, data []byte) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("stdin was not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("stdin was not a tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		files[hdr.Name] = string(b)
	}
}

func assertNoPods(t *testing.T, client *kubetest.Clientset, ns string) {
	t.Helper()
	list, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Fatalf("build pod left behind: %s", list.Items[0].Name)
	}
}

type collectingLogger struct {
	mu    sync.Mutex
	steps []string
	lines []string
}

func (l *collectingLogger) Step(msg string, _ ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, msg)
}

func (l *collectingLogger) Output(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func TestBuildSucceeds(t *testing.T) {
	client := kubetest.NewClientset()
	attacher := &recordingAttacher{}
	logger := &collectingLogger{}
	b := &Executor{Client: client, Attacher: attacher, Log: logger}
	client.Play(running, terminated(0, testDigest+"\n"))

	res, err := b.Build(context.Background(), specWithContext(t, "the context"))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if res.Digest != testDigest {
		t.Errorf("digest = %q", res.Digest)
	}
	if !podName.MatchString(res.Pod) {
		t.Errorf("pod = %q, want onesbuild-new-image- and ten characters of the nonce", res.Pod)
	}
	for _, p := range []build.Phase{build.PhaseExecutorStart, build.PhaseTotal} {
		if _, ok := res.Timings[p]; !ok {
			t.Errorf("timing %s missing: %v", p, res.Timings)
		}
	}
	if got := filesOf(t, attacher.data)["main"]; got != "the context" {
		t.Errorf("executor received main = %q", got)
	}
	if sent := sha256Of(t, attacher.data); sent != hashOf(t, specWithContext(t, "the context")) {
		t.Errorf("the executor received %s, not the archive of the snapshot", sent)
	}
	if res.Executor != build.ExecutorKaniko {
		t.Errorf("executor = %q", res.Executor)
	}
	// The fake clientset serves "fake logs" as the container log.
	if len(res.LogTail) == 0 || res.LogTail[len(res.LogTail)-1] != "fake logs" {
		t.Errorf("log tail = %q", res.LogTail)
	}
	assertNoPods(t, client, "builds")
}

func TestBuildFailures(t *testing.T) {
	tests := []struct {
		name    string
		steps   []func(*corev1.Pod)
		spec    func() build.Spec
		objects []runtime.Object
		attach  error
		reason  build.FailureReason
		detail  string
	}{
		{
			name:   "executor image cannot be pulled",
			steps:  []func(*corev1.Pod){waiting("ContainerCreating", ""), waiting("ErrImagePull", `failed to pull "nope:1": not found`)},
			reason: build.ReasonImagePull, detail: "not found",
		},
		{
			name:   "back-off after pull errors",
			steps:  []func(*corev1.Pod){waiting("ImagePullBackOff", "Back-off pulling image")},
			reason: build.ReasonImagePull, detail: "Back-off",
		},
		{
			name: "unschedulable",
			steps: []func(*corev1.Pod){func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient memory."}}
			}},
			reason: build.ReasonUnschedulable, detail: "Insufficient memory",
		},
		{
			name:   "kaniko exits non-zero",
			steps:  []func(*corev1.Pod){running, terminated(1, "")},
			reason: build.ReasonExecutorFailed, detail: "code 1",
		},
		{
			name:   "no digest in termination message",
			steps:  []func(*corev1.Pod){running, terminated(0, "")},
			reason: build.ReasonInvalidDigest,
		},
		{
			name: "deadline exceeded on the cluster",
			steps: []func(*corev1.Pod){running, func(p *corev1.Pod) {
				p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
				p.Status.ContainerStatuses = nil
			}},
			reason: build.ReasonTimeout, detail: "DeadlineExceeded",
		},
		{
			name: "deadline exceeded kills the executor",
			steps: []func(*corev1.Pod){running, func(p *corev1.Pod) {
				terminated(137, "")(p)
				p.Status.Phase, p.Status.Reason = corev1.PodFailed, "DeadlineExceeded"
			}},
			reason: build.ReasonTimeout, detail: "DeadlineExceeded",
		},
		{
			name: "evicted",
			steps: []func(*corev1.Pod){running, func(p *corev1.Pod) {
				p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", "The node was low on resource: memory."
				p.Status.ContainerStatuses = nil
			}},
			reason: build.ReasonPodFailed, detail: "Evicted",
		},
		{
			name: "registry secret missing",
			spec: func() build.Spec {
				r := specWithContext(t, "x")
				r.Registry.AuthSecret = "regcred"
				return r
			},
			reason: build.ReasonRegistrySecret, detail: `"regcred" does not exist`,
		},
		{
			name: "registry secret without docker config",
			spec: func() build.Spec {
				r := specWithContext(t, "x")
				r.Registry.AuthSecret = "regcred"
				return r
			},
			objects: []runtime.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "builds"}, Data: map[string][]byte{"token": []byte("x")}}},
			reason:  build.ReasonRegistrySecret, detail: "neither",
		},
		{
			name:   "attach fails",
			steps:  []func(*corev1.Pod){running},
			attach: errors.New("upgrade request failed: 403"),
			reason: build.ReasonContextUpload, detail: "403",
		},
		{
			name: "a local context not archived",
			spec: func() build.Spec {
				r := baseSpec()
				r.Context = build.Context{Source: &buildcontext.Source{Dir: "/nonexistent/context"}}
				return r
			},
			reason: build.ReasonInvalidRequest, detail: "not archived",
		},
		{
			name: "build secret key missing",
			spec: func() build.Spec {
				r := specWithContext(t, "x")
				r.Secrets = []build.BuildSecret{{ID: "npm", SecretName: "ci", Key: "npmrc"}}
				return r
			},
			objects: []runtime.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ci", Namespace: "builds"}, Data: map[string][]byte{"token": []byte("x")}}},
			reason:  build.ReasonBuildSecret, detail: `no key "npmrc"`,
		},
		{
			name:   "executor image missing fails at once",
			steps:  []func(*corev1.Pod){waiting("ErrImagePull", `failed to pull and unpack image "nope:1": failed to resolve reference "nope:1": nope:1: not found`)},
			reason: build.ReasonImagePull, detail: "not found",
		},
		{
			name:   "executor OOMKilled",
			steps:  []func(*corev1.Pod){running, terminatedWith(137, "OOMKilled")},
			reason: build.ReasonOOMKilled, detail: "OOMKilled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := kubetest.NewClientset(tt.objects...)
			b := &Executor{Client: client, Attacher: &recordingAttacher{err: tt.attach}, UnschedulableTimeout: 300 * time.Millisecond, ImagePullTimeout: 300 * time.Millisecond}
			req := specWithContext(t, "ctx")
			if tt.spec != nil {
				req = tt.spec()
			}
			client.Play(tt.steps...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := b.Build(ctx, req)
			var f *build.Failure
			if !errors.As(err, &f) {
				t.Fatalf("Build error = %v, want a *Failure", err)
			}
			if f.Reason != tt.reason {
				t.Fatalf("reason = %s, want %s (%v)", f.Reason, tt.reason, err)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not mention %q", err, tt.detail)
			}
			if res.Digest != "" {
				t.Errorf("failed build returned digest %q", res.Digest)
			}
			if tt.reason == build.ReasonExecutorFailed && (f.ExitCode != 1 || len(f.LogTail) == 0) {
				t.Errorf("executor failure lacks exit code or log tail: %+v", f)
			}
			assertNoPods(t, client, "builds")
		})
	}
}

func TestBuildTimeoutAndCancelCleanUp(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		client := kubetest.NewClientset()
		b := &Executor{Client: client, Attacher: &recordingAttacher{}}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := b.Build(ctx, specWithContext(t, "x"))
		var f *build.Failure
		if !errors.As(err, &f) || f.Reason != build.ReasonTimeout {
			t.Fatalf("err = %v, want a timeout failure", err)
		}
		assertNoPods(t, client, "builds")
	})
	t.Run("cancel", func(t *testing.T) {
		client := kubetest.NewClientset()
		b := &Executor{Client: client, Attacher: &recordingAttacher{}}
		ctx, cancel := context.WithCancel(context.Background())
		client.Play(func(p *corev1.Pod) { cancel() })
		_, err := b.Build(ctx, specWithContext(t, "x"))
		var f *build.Failure
		if !errors.As(err, &f) || f.Reason != build.ReasonCanceled {
			t.Fatalf("err = %v, want a cancel failure", err)
		}
		assertNoPods(t, client, "builds")
	})
	t.Run("cancel gives the container its grace period and waits for it", func(t *testing.T) {
		client := kubetest.NewClientset()
		var grace atomic.Int64
		grace.Store(-1)
		var gone atomic.Bool
		client.PrependReactor("delete", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
			del := action.(k8stesting.DeleteAction)
			if opts := del.GetDeleteOptions(); opts.GracePeriodSeconds != nil {
				grace.Store(*opts.GracePeriodSeconds)
			}
			// Terminating for a while, as a container that gets SIGTERM
			// and still pushes would be.
			go func() {
				time.Sleep(300 * time.Millisecond)
				gone.Store(true)
				_ = client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), del.GetNamespace(), del.GetName())
			}()
			return true, nil, nil
		})
		b := &Executor{Client: client, Attacher: &recordingAttacher{}}
		ctx, cancel := context.WithCancel(context.Background())
		client.Play(func(p *corev1.Pod) { cancel() })
		_, err := b.Build(ctx, specWithContext(t, "x"))
		var f *build.Failure
		if !errors.As(err, &f) || f.Reason != build.ReasonCanceled {
			t.Fatalf("err = %v, want a cancel failure", err)
		}
		if g := grace.Load(); g != terminationGrace {
			t.Errorf("deleted with a grace period of %d s, want %d", g, terminationGrace)
		}
		if !gone.Load() {
			t.Error("the cancelled build returned before its pod was gone")
		}
	})
	t.Run("pod deleted by someone else", func(t *testing.T) {
		client := kubetest.NewClientset()
		b := &Executor{Client: client, Attacher: &recordingAttacher{}}
		go func() {
			for {
				list, _ := client.CoreV1().Pods("builds").List(context.Background(), metav1.ListOptions{})
				if len(list.Items) > 0 {
					time.Sleep(50 * time.Millisecond)
					_ = client.CoreV1().Pods("builds").Delete(context.Background(), list.Items[0].Name, metav1.DeleteOptions{})
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := b.Build(ctx, specWithContext(t, "x"))
		var f *build.Failure
		if !errors.As(err, &f) || f.Reason != build.ReasonPodDeleted {
			t.Fatalf("err = %v, want a pod-deleted failure", err)
		}
	})
}

func TestKeepPod(t *testing.T) {
	client := kubetest.NewClientset()
	b := &Executor{Client: client, Attacher: &recordingAttacher{}}
	client.Play(running, terminated(0, testDigest))
	req := specWithContext(t, "x")
	req.Pod.KeepPod = true
	res, err := b.Build(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods("builds").Get(context.Background(), res.Pod, metav1.GetOptions{}); err != nil {
		t.Fatalf("pod was deleted although KeepPod is set: %v", err)
	}
}

func TestDeleteFailureIsAWarning(t *testing.T) {
	client := kubetest.NewClientset()
	client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("etcdserver: request timed out")
	})
	b := &Executor{Client: client, Attacher: &recordingAttacher{}}
	client.Play(running, terminated(0, testDigest))
	res, err := b.Build(context.Background(), specWithContext(t, "x"))
	if err != nil {
		t.Fatalf("a cleanup failure failed the build: %v", err)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Kind != build.WarningCleanup || !strings.Contains(res.Warnings[0].Message, "request timed out") {
		t.Fatalf("warnings = %q", res.Warnings)
	}
}

func TestLostPodIsRebuiltOnce(t *testing.T) {
	client := kubetest.NewClientset()
	b := build.RetryTransient{Retries: 1, Next: &Executor{Client: client, Attacher: &recordingAttacher{}}}
	go func() {
		first := client.CreatedPod("builds", 1, 5*time.Second)
		client.Update("builds", first.Name, running)
		time.Sleep(30 * time.Millisecond)
		_ = client.CoreV1().Pods("builds").Delete(context.Background(), first.Name, metav1.DeleteOptions{}) // node lost, pod gone
		second := client.CreatedPod("builds", 2, 5*time.Second)
		client.Update("builds", second.Name, running)
		time.Sleep(30 * time.Millisecond)
		client.Update("builds", second.Name, terminated(0, testDigest))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := b.Build(ctx, specWithContext(t, "x"))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if names := client.CreatedNames(); res.Attempts != 2 || len(names) != 2 || res.Pod != names[1] || res.Digest != testDigest {
		t.Fatalf("result = %+v", res)
	}
	assertNoPods(t, client, "builds")
}

func TestDeterministicFailureIsNotRetried(t *testing.T) {
	client := kubetest.NewClientset()
	b := build.RetryTransient{Retries: 3, Next: &Executor{Client: client, Attacher: &recordingAttacher{}}}
	client.Play(running, terminated(1, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := b.Build(ctx, specWithContext(t, "x"))
	var f *build.Failure
	if !errors.As(err, &f) || f.Reason != build.ReasonExecutorFailed || res.Attempts != 1 {
		t.Fatalf("err = %v, attempts = %d; a failing build must fail once", err, res.Attempts)
	}
}

func TestTransientCreateErrorsAreRetried(t *testing.T) {
	client := kubetest.NewClientset()
	failures := 2
	client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failures > 0 {
			failures--
			return true, nil, apierrors.NewServerTimeout(corev1.Resource("pods"), "create", 1)
		}
		return false, nil, nil
	})
	b := &Executor{Client: client, Attacher: &recordingAttacher{}}
	client.Play(running, terminated(0, testDigest))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Build(ctx, specWithContext(t, "x")); err != nil {
		t.Fatalf("Build after two transient create errors: %v", err)
	}

	newNamespace := kubetest.NewClientset()
	missingSA := 1
	newNamespace.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if missingSA > 0 {
			missingSA--
			return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "", errors.New(`error looking up service account builds/default: serviceaccount "default" not found`))
		}
		return false, nil, nil
	})
	newNamespace.Play(running, terminated(0, testDigest))
	if _, err := (&Executor{Client: newNamespace, Attacher: &recordingAttacher{}}).Build(ctx, specWithContext(t, "x")); err != nil {
		t.Fatalf("Build in a namespace whose service account appeared a moment later: %v", err)
	}

	forbidden := kubetest.NewClientset()
	forbidden.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "", errors.New("RBAC"))
	})
	_, err := (&Executor{Client: forbidden, Attacher: &recordingAttacher{}}).Build(ctx, specWithContext(t, "x"))
	var f *build.Failure
	if !errors.As(err, &f) || f.Reason != build.ReasonPodCreate {
		t.Fatalf("forbidden create: err = %v", err)
	}
}

func TestUnschedulableWithinGraceRecovers(t *testing.T) {
	client := kubetest.NewClientset()
	b := &Executor{Client: client, Attacher: &recordingAttacher{}, UnschedulableTimeout: 5 * time.Second}
	client.Play(func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient cpu."}}
	}, func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	}, running, terminated(0, testDigest))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Build(ctx, specWithContext(t, "x")); err != nil {
		t.Fatalf("a pod that waited briefly for capacity failed the build: %v", err)
	}
}

func TestTransientPullFailureIsWaitedOut(t *testing.T) {
	client := kubetest.NewClientset()
	b := &Executor{Client: client, Attacher: &recordingAttacher{}, ImagePullTimeout: 5 * time.Second}
	client.Play(
		waiting("ErrImagePull", `failed to pull image "r:5000/kaniko": dial tcp 10.0.0.1:5000: connect: connection refused`),
		waiting("ImagePullBackOff", `Back-off pulling image "r:5000/kaniko"`),
		running, terminated(0, testDigest))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Build(ctx, specWithContext(t, "x")); err != nil {
		t.Fatalf("a pull that failed once for an unreachable registry failed the build: %v", err)
	}

	stuck := kubetest.NewClientset()
	b = &Executor{Client: stuck, Attacher: &recordingAttacher{}, ImagePullTimeout: 1500 * time.Millisecond}
	stuck.Play(waiting("ErrImagePull", "i/o timeout"))
	start := time.Now()
	_, err := b.Build(ctx, specWithContext(t, "x"))
	var f *build.Failure
	if !errors.As(err, &f) || f.Reason != build.ReasonImagePull || !strings.Contains(f.Message, "still failing") {
		t.Fatalf("err = %v, want a pull failure after the pull timeout", err)
	}
	if waited := time.Since(start); waited < 1500*time.Millisecond {
		t.Fatalf("gave up after %s, before the pull timeout", waited)
	}
	assertNoPods(t, stuck, "builds")
}

func TestUnschedulableTimeoutNegativeWaitsForTheContext(t *testing.T) {
	client := kubetest.NewClientset()
	b := &Executor{Client: client, Attacher: &recordingAttacher{}, UnschedulableTimeout: -1}
	client.Play(func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available"}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := b.Build(ctx, specWithContext(t, "x"))
	var f *build.Failure
	if !errors.As(err, &f) || f.Reason != build.ReasonTimeout {
		t.Fatalf("err = %v, want the build's own timeout while waiting for a node", err)
	}
}

func TestPermanentPullError(t *testing.T) {
	for msg, want := range map[string]bool{
		`failed to resolve reference "x:1": x:1: not found`:                  true,
		`pull access denied, repository does not exist or may require login`: true,
		`unexpected status from HEAD request: 401 Unauthorized`:              true,
		`dial tcp 10.0.0.1:5000: connect: connection refused`:                false,
		`net/http: TLS handshake timeout`:                                    false,
		`unexpected status code 503 Service Unavailable`:                     false,
	} {
		if got := PermanentPullError(msg); got != want {
			t.Errorf("PermanentPullError(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestPlanRefusesSourcesOutsideTheContext: in Kaniko's container a
// source above the context reaches the mounted registry credentials and
// build secrets; the plan refuses it, and so does a build.
func TestPlanRefusesSourcesOutsideTheContext(t *testing.T) {
	e := &Executor{Client: kubetest.NewClientset(), Attacher: &recordingAttacher{}}
	spec := baseSpec()
	spec.Context = build.Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": "FROM b\nCOPY ../.docker/config.json /x\n"}}}
	var f *build.Failure
	if _, err := e.Plan(context.Background(), spec); !errors.As(err, &f) || f.Reason != build.ReasonDockerfile || !strings.Contains(err.Error(), "leaves the build context") {
		t.Fatalf("plan err = %v, want a Dockerfile error", err)
	}
	if _, err := e.Build(context.Background(), archived(t, spec)); !errors.As(err, &f) || f.Reason != build.ReasonDockerfile {
		t.Fatalf("build err = %v, want a Dockerfile error", err)
	}
	if n := e.Client.(*kubetest.Clientset).Created(); n != 0 {
		t.Errorf("%d pods created", n)
	}
	if p, err := e.Plan(context.Background(), specWithContext(t, "x")); err != nil || p.Executor != build.ExecutorKaniko {
		t.Errorf("plan = %+v, %v", p, err)
	}
}

// podName is a build pod's name: the repository's prefix and ten
// characters of the nonce.
var podName = regexp.MustCompile(`^onesbuild-new-image-[0-9a-f]{10}$`)

// TestLinkOutOfTheContextIsRefused: a context_dir whose link leads to the
// registry credentials Kaniko mounts (creds -> /kaniko/.docker) and a
// COPY through it, which has no ../ at all: the plan refuses it, and so
// does a build, before any pod.
func TestLinkOutOfTheContextIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY creds/config.json /x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/kaniko/.docker", filepath.Join(dir, "creds")); err != nil {
		t.Fatal(err)
	}
	e := &Executor{Client: kubetest.NewClientset(), Attacher: &recordingAttacher{}}
	spec := baseSpec()
	spec.Context = build.Context{Source: &buildcontext.Source{Dir: dir}}
	var f *build.Failure
	if _, err := e.Plan(context.Background(), spec); !errors.As(err, &f) || f.Reason != build.ReasonDockerfile || !strings.Contains(err.Error(), "symbolic link creds, which points to /kaniko/.docker") {
		t.Fatalf("plan err = %v, want a Dockerfile error naming the link", err)
	}
	if _, err := e.Build(context.Background(), archived(t, spec)); !errors.As(err, &f) || f.Reason != build.ReasonDockerfile {
		t.Fatalf("build err = %v, want a Dockerfile error", err)
	}
	if n := e.Client.(*kubetest.Clientset).Created(); n != 0 {
		t.Errorf("%d pods created", n)
	}
}

// fakeBases serves base image configurations by reference.
type fakeBases map[string]map[string]*v1.ConfigFile

func (f fakeBases) Configs(_ context.Context, ref string) (map[string]*v1.ConfigFile, error) {
	if c, ok := f[ref]; ok {
		return c, nil
	}
	return nil, errors.New("no such registry")
}

// TestBaseTriggersAreChecked: a base image whose ONBUILD trigger (or
// environment) makes a COPY read the mounted credentials is refused at
// plan and before any pod; a base whose registry does not answer from
// here is not checked.
func TestBaseTriggersAreChecked(t *testing.T) {
	evil := func(env []string, onbuild ...string) map[string]*v1.ConfigFile {
		return map[string]*v1.ConfigFile{"": {Config: v1.Config{Env: env, OnBuild: onbuild}}}
	}
	for name, bases := range map[string]fakeBases{
		"trigger":                    {"base:1": evil(nil, "COPY ../.docker/config.json /x")},
		"environment in the trigger": {"base:1": evil([]string{"UP=.."}, "COPY $UP/.docker/config.json /x")},
		"environment of the base":    {"base:1": evil([]string{"UP=../.docker"})},
	} {
		t.Run(name, func(t *testing.T) {
			client := kubetest.NewClientset()
			e := &Executor{Client: client, Attacher: &recordingAttacher{}, Bases: bases}
			df := "FROM base:1\nCOPY app /app\n"
			if name == "environment of the base" {
				df = "FROM base:1\nCOPY $UP/config.json /app\n"
			}
			spec := baseSpec()
			spec.Context = build.Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": df, "app": "x"}}}
			var f *build.Failure
			if _, err := e.Plan(context.Background(), spec); !errors.As(err, &f) || f.Reason != build.ReasonDockerfile {
				t.Fatalf("plan err = %v, want a Dockerfile error", err)
			}
			if _, err := e.Build(context.Background(), archived(t, spec)); !errors.As(err, &f) || f.Reason != build.ReasonDockerfile {
				t.Fatalf("build err = %v, want a Dockerfile error", err)
			}
			if n := client.Created(); n != 0 {
				t.Errorf("%d pods created", n)
			}
		})
	}
	e := &Executor{Client: kubetest.NewClientset(), Attacher: &recordingAttacher{}, Bases: fakeBases{}}
	spec := baseSpec()
	spec.Context = build.Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": "FROM base:1\nCOPY app /app\n", "app": "x"}}}
	if _, err := e.Plan(context.Background(), spec); err != nil {
		t.Errorf("a base this machine cannot reach: %v", err)
	}
}
