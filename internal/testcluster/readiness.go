package testcluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// waitRegistryFromPods runs a probe pod on each node, with the executor
// image's busybox, until it resolves the registry's Service name and gets
// an answer from /v2/.
func (h *Harness) waitRegistryFromPods(ctx context.Context, timeout time.Duration) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	host, port, _ := strings.Cut(clusterRegistryName, ":")
	// busybox's own nslookup: a static busybox cannot resolve through the
	// C library.
	script := fmt.Sprintf(`for i in $(seq 60); do ip=$(nslookup %s 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}'); if [ -n "$ip" ] && wget -q -O /dev/null http://$ip:%s/v2/; then echo ok; exit 0; fi; sleep 1; done; exit 1`, host, port)
	image := "localhost:5000/" + kanikoImagePath
	errs := make(chan error, len(nodes.Items))
	for _, n := range nodes.Items {
		go func(node string) {
			start := time.Now()
			_, err := kube.RunToCompletionOn(ctx, client, "default", node, image, []string{"/busybox/sh", "-c", script}, timeout)
			if err == nil {
				h.Progress.Printf("node %s: registry reached from a pod after %s", node, since(start))
			} else {
				err = fmt.Errorf("pods on node %s cannot reach %s: %w", node, clusterRegistryName, err)
			}
			errs <- err
		}(n.Name)
	}
	var first error
	for range nodes.Items {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// waitDefaultServiceAccount waits for default/default: pods cannot be
// created in a namespace before its service account exists.
func (h *Harness) waitDefaultServiceAccount(ctx context.Context, timeout time.Duration) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	return poll(ctx, 200*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	}, func(last error) error {
		return fmt.Errorf("service account default/default missing after %s: %w", timeout, last)
	})
}

// waitNodesReady waits until every node reports Ready.
func (h *Harness) waitNodesReady(ctx context.Context, timeout time.Duration) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	var waiting []string
	return poll(ctx, time.Second, timeout, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		waiting = nil
		if err != nil {
			return false, err
		}
		for _, n := range list.Items {
			if !nodeReady(n) {
				waiting = append(waiting, n.Name)
			}
		}
		return len(waiting) == 0 && len(list.Items) == h.Workers+1, nil
	}, func(last error) error {
		return fmt.Errorf("nodes not Ready after %s: %v (%v)", timeout, waiting, last)
	})
}

// healthy checks that the node is Ready and the system pods run.
func (h *Harness) healthy(ctx context.Context) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(nodes.Items) == 0 {
		return fmt.Errorf("no nodes")
	}
	for _, n := range nodes.Items {
		if !nodeReady(n) {
			return fmt.Errorf("node %s is not Ready", n.Name)
		}
	}
	if err := h.waitSystemPods(ctx, 15*time.Second); err != nil {
		return err
	}
	return h.waitDefaultServiceAccount(ctx, 15*time.Second)
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitSystemPods waits until every kube-system pod runs and is ready.
func (h *Harness) waitSystemPods(ctx context.Context, timeout time.Duration) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	var notReady []string
	return poll(ctx, time.Second, timeout, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
		notReady = nil
		if err != nil {
			notReady = append(notReady, err.Error())
		} else {
			for _, p := range pods.Items {
				if !podReady(p) {
					notReady = append(notReady, p.Name+" ("+podProblem(p)+")")
				}
			}
			if len(pods.Items) == 0 {
				notReady = append(notReady, "no pods yet")
			}
		}
		return len(notReady) == 0, nil
	}, func(error) error {
		sort.Strings(notReady)
		return fmt.Errorf("kube-system pods not ready after %s: %s", timeout, strings.Join(notReady, ", "))
	})
}

func podReady(p corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podProblem(p corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return w.Reason + ": " + w.Message
		}
	}
	return string(p.Status.Phase)
}
