package kube

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Secrets reads Secrets' data.
type Secrets struct {
	Client kubernetes.Interface
}

// SecretData returns the data of the Secret namespace/name.
func (s Secrets) SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	secret, err := s.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return secret.Data, nil
}
