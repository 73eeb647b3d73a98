package kubetest

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClientsetNamesAndPlaysPods(t *testing.T) {
	c := NewClientset()
	c.Play(func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded })
	pods := c.CoreV1().Pods("ns")
	first, err := pods.Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "build-", Namespace: "ns"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Name != "build-00001" {
		t.Errorf("name = %q", first.Name)
	}
	second, _ := pods.Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "build-", Namespace: "ns"}}, metav1.CreateOptions{})
	if second.Name != "build-00002" || c.Created() != 2 {
		t.Errorf("second = %q, created %d", second.Name, c.Created())
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		p, _ := pods.Get(context.Background(), "build-00001", metav1.GetOptions{})
		if p.Status.Phase == corev1.PodSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first pod never succeeded: %s", p.Status.Phase)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p, _ := pods.Get(context.Background(), "build-00002", metav1.GetOptions{}); p.Status.Phase != "" {
		t.Errorf("Play moved a second pod: %s", p.Status.Phase)
	}
}
