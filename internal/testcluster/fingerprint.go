package testcluster

import (
	"cmp"
	"context"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// fingerprintConfigMap records what a cluster was created from, so that a
// changed configuration (node count, mirrors, node image) is never
// silently reused.
const fingerprintConfigMap = "onesbuild-harness"

// clusterFingerprint hashes the kind configuration, the mirror files it
// mounts and the node image recipe.
func clusterFingerprint(cfg *v1alpha4.Cluster, certsD map[string]string) (string, error) {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	parts := []string{string(data), nodeImageRecipe()}
	var rels []string
	for rel := range certsD {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		parts = append(parts, rel+"\n"+certsD[rel])
	}
	return recipeHash(strings.Join(parts, "\n---\n")), nil
}

// healthyWithFingerprint checks the cluster and returns the fingerprint
// it was created with ("" for clusters from before fingerprints).
func (h *Harness) healthyWithFingerprint(ctx context.Context) (string, error) {
	// Node containers that have just restarted (Docker or the machine
	// did) answer with errors such as RBAC refusals for a few seconds:
	// give them a minute before recreating the cluster.
	var last error
	err := poll(ctx, 2*time.Second, time.Minute, func(ctx context.Context) (bool, error) {
		last = h.healthy(ctx)
		return last == nil, last
	}, func(problem error) error { return problem })
	if err != nil {
		// Timed out or interrupted: the cluster's last problem, which
		// the caller reports.
		return "", cmp.Or(last, err)
	}
	client, err := h.client()
	if err != nil {
		return "", err
	}
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, fingerprintConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return cm.Data["fingerprint"], nil
}

func (h *Harness) recordFingerprint(ctx context.Context, fingerprint string) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: fingerprintConfigMap, Namespace: "kube-system", Labels: map[string]string{"app.kubernetes.io/managed-by": "onesbuild-harness"}},
		Data:       map[string]string{"fingerprint": fingerprint},
	}
	_, err = client.CoreV1().ConfigMaps("kube-system").Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = client.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{})
	}
	return err
}
