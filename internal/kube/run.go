package kube

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// RunResult describes a pod started from an image until its log showed
// the expected lines.
type RunResult struct {
	Pod string
	// Running is the time from pod creation until its container ran,
	// which includes pulling the image on the node.
	Running time.Duration
	// FirstLine is the time from pod creation until the container wrote
	// its first log line, by the runtime's timestamp of that line (the
	// kubelet reports status only about once a second, so watching the
	// pod would round this up).
	FirstLine time.Duration
	// Lines is the log read, in order.
	Lines []string
	// Node is where the pod ran.
	Node string
}

// RunUntilLines starts a pod from image, follows its log until every line
// of want appeared (as a substring), and deletes the pod. It fails fast
// when the image cannot be pulled.
func RunUntilLines(ctx context.Context, client kubernetes.Interface, namespace, image string, want []string) (*RunResult, error) {
	return RunUntilLinesOn(ctx, client, namespace, "", image, want)
}

// RunUntilLinesOn is RunUntilLines on a given node ("" lets the scheduler
// choose). Node reports where the pod ran.
func RunUntilLinesOn(ctx context.Context, client kubernetes.Interface, namespace, node, image string, want []string) (*RunResult, error) {
	pods := client.CoreV1().Pods(namespace)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "onesbuild-run-",
			Labels:       map[string]string{"app.kubernetes.io/managed-by": "onesbuild-tests"},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr(int64(0)),
			Containers:                    []corev1.Container{{Name: "app", Image: image, ImagePullPolicy: corev1.PullIfNotPresent}},
		},
	}
	if node != "" {
		pod.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": node}
	}
	start := time.Now()
	pod, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pod for %s: %w", image, err)
	}
	defer func() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = pods.Delete(cleanup, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	}()
	res := &RunResult{Pod: pod.Name}
	for {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return res, err
		}
		if len(p.Status.ContainerStatuses) > 0 {
			st := p.Status.ContainerStatuses[0].State
			if w := st.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "InvalidImageName") {
				return res, fmt.Errorf("the node cannot pull %s: %s: %s", image, w.Reason, w.Message)
			}
			if st.Running != nil || st.Terminated != nil {
				res.Running, res.Node = time.Since(start), p.Spec.NodeName
				break
			}
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("pod %s did not start: %w", pod.Name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	stream, err := pods.GetLogs(pod.Name, &corev1.PodLogOptions{Follow: true, Timestamps: true}).Stream(ctx)
	if err != nil {
		return res, fmt.Errorf("following the log of %s: %w", pod.Name, err)
	}
	defer stream.Close()
	scanner := bufio.NewScanner(stream)
	missing := append([]string(nil), want...)
	for len(missing) > 0 && scanner.Scan() {
		observed := time.Since(start)
		stamp, line, _ := strings.Cut(scanner.Text(), " ")
		if len(res.Lines) == 0 {
			res.FirstLine = observed
			if ts, err := time.Parse(time.RFC3339Nano, stamp); err == nil && ts.After(start) && ts.Sub(start) < observed {
				res.FirstLine = ts.Sub(start)
			}
		}
		res.Lines = append(res.Lines, line)
		for i := 0; i < len(missing); i++ {
			if strings.Contains(line, missing[i]) {
				missing = append(missing[:i], missing[i+1:]...)
				i--
			}
		}
	}
	if len(missing) > 0 {
		return res, fmt.Errorf("the log of %s ended without %q; it was: %q", pod.Name, missing, res.Lines)
	}
	return res, nil
}

func ptr[T any](v T) *T { return &v }

func nodeSelector(node string) map[string]string {
	if node == "" {
		return nil
	}
	return map[string]string{"kubernetes.io/hostname": node}
}

// RunToCompletion runs command in a pod from image until it exits, and
// returns its log; the pod is deleted in every case. A non-zero exit is an
// error carrying the log.
func RunToCompletion(ctx context.Context, client kubernetes.Interface, namespace, image string, command []string, timeout time.Duration) (string, error) {
	return RunToCompletionOn(ctx, client, namespace, "", image, command, timeout)
}

// RunToCompletionOn is RunToCompletion on a given node ("" lets the
// scheduler choose).
func RunToCompletionOn(ctx context.Context, client kubernetes.Interface, namespace, node, image string, command []string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pods := client.CoreV1().Pods(namespace)
	pod, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "onesbuild-probe-", Labels: map[string]string{"app.kubernetes.io/managed-by": "onesbuild-tests"}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr(int64(0)),
			AutomountServiceAccountToken:  ptr(false),
			Containers:                    []corev1.Container{{Name: "probe", Image: image, Command: command, ImagePullPolicy: corev1.PullIfNotPresent}},
			NodeSelector:                  nodeSelector(node),
			// Probes also run on a control plane that is tainted.
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating a pod from %s: %w", image, err)
	}
	defer func() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = pods.Delete(cleanup, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	}()
	for {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "CreateContainerError" || w.Reason == "RunContainerError") {
				return "", fmt.Errorf("%s: %s", w.Reason, w.Message)
			}
			if term := cs.State.Terminated; term != nil {
				logs, lerr := pods.GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
				if lerr != nil {
					return "", lerr
				}
				if term.ExitCode != 0 {
					return string(logs), fmt.Errorf("exited with code %d: %s", term.ExitCode, strings.TrimSpace(string(logs)))
				}
				return string(logs), nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
