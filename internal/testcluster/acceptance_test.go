package testcluster

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
)

func TestRemoveEarlierBuildPodsKeepsThisRunsAndOthers(t *testing.T) {
	start := time.Now()
	pod := func(ns, name string, created time.Time, managed bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(created)}}
		if managed {
			p.Labels = map[string]string{kaniko.LabelManagedBy: kaniko.ManagedBy}
		}
		return p
	}
	client := fake.NewClientset(
		pod("default", "killed-run", start.Add(-time.Hour), true),
		pod("builds", "killed-run-elsewhere", start.Add(-time.Minute), true),
		pod("default", "this-run", start.Add(time.Second), true),
		// Made in this run's first second, stored to the second.
		pod("default", "this-run-at-once", start.Truncate(time.Second), true),
		pod("default", "not-a-build", start.Add(-time.Hour), false),
	)
	if err := removeEarlierBuildPods(context.Background(), client, start); err != nil {
		t.Fatal(err)
	}
	pods, err := client.CoreV1().Pods(metav1.NamespaceAll).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range pods.Items {
		left = append(left, p.Namespace+"/"+p.Name)
	}
	if len(left) != 3 || !slices.Contains(left, "default/this-run") || !slices.Contains(left, "default/this-run-at-once") || !slices.Contains(left, "default/not-a-build") {
		t.Fatalf("pods left %v, want this run's two and default/not-a-build", left)
	}
}
