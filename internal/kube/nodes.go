package kube

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// Nodes answers questions about a cluster's nodes.
type Nodes struct {
	Client kubernetes.Interface
}

// Platforms returns the platforms (os/arch, sorted, each once) of the
// nodes a pod with nodeSelector and tolerations could be scheduled on:
// nodes that match the selector, are not cordoned, and whose
// NoSchedule and NoExecute taints the pod tolerates (so nodes not ready
// are left out, as the scheduler leaves them out). Listing nodes needs
// a ClusterRole; without it the error says so.
func (n Nodes) Platforms(ctx context.Context, nodeSelector map[string]string, tolerations []corev1.Toleration) ([]string, error) {
	list, err := n.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(nodeSelector).String()})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	seen := map[string]bool{}
	for i := range list.Items {
		node := &list.Items[i]
		if node.Spec.Unschedulable || !tolerates(node.Spec.Taints, tolerations) {
			continue
		}
		seen[NodePlatform(node)] = true
	}
	platforms := make([]string, 0, len(seen))
	for p := range seen {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	return platforms, nil
}

// NodePlatform is a node's os/arch as its kubelet reports it, or its
// kubernetes.io labels when the status lacks it.
func NodePlatform(node *corev1.Node) string {
	os, arch := node.Status.NodeInfo.OperatingSystem, node.Status.NodeInfo.Architecture
	if os == "" {
		os = node.Labels[corev1.LabelOSStable]
	}
	if arch == "" {
		arch = node.Labels[corev1.LabelArchStable]
	}
	return os + "/" + arch
}

// tolerates reports whether every taint that keeps pods off the node is
// tolerated.
func tolerates(taints []corev1.Taint, tolerations []corev1.Toleration) bool {
	for i := range taints {
		taint := &taints[i]
		if taint.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(klog.Background(), taint, false) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
