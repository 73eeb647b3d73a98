package kube

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func node(name, arch string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	l := map[string]string{corev1.LabelArchStable: arch, corev1.LabelOSStable: "linux"}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status:     corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: arch}},
	}
}

func TestNodePlatforms(t *testing.T) {
	gpu := corev1.Taint{Key: "gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	notReady := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
	cordoned := node("cordoned", "s390x", nil)
	cordoned.Spec.Unschedulable = true
	client := fake.NewClientset(
		node("a1", "amd64", map[string]string{"pool": "build"}),
		node("a2", "amd64", nil),
		node("r1", "arm64", map[string]string{"pool": "build"}, gpu),
		node("r2", "arm64", nil, corev1.Taint{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}),
		node("down", "ppc64le", nil, notReady),
		cordoned,
	)
	nodes := Nodes{Client: client}
	for _, tt := range []struct {
		name        string
		selector    map[string]string
		tolerations []corev1.Toleration
		want        []string
	}{
		{name: "every schedulable node", want: []string{"linux/amd64", "linux/arm64"}},
		{name: "a node selector", selector: map[string]string{"pool": "build"}, want: []string{"linux/amd64"}},
		{name: "a tolerated taint", selector: map[string]string{"pool": "build"},
			tolerations: []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}}, want: []string{"linux/amd64", "linux/arm64"}},
		{name: "an architecture selector", selector: map[string]string{corev1.LabelArchStable: "arm64"}, want: []string{"linux/arm64"}},
		{name: "no node matches", selector: map[string]string{"pool": "none"}, want: []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nodes.Platforms(context.Background(), tt.selector, tt.tolerations)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("platforms = %v, want %v", got, tt.want)
			}
		})
	}

	forbidden := fake.NewClientset()
	forbidden.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", nil)
	})
	if _, err := (Nodes{Client: forbidden}).Platforms(context.Background(), nil, nil); !apierrors.IsForbidden(err) {
		t.Errorf("err = %v, want the Forbidden error", err)
	}
}
