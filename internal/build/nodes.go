package build

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// NodePlatforms lists the platforms (os/arch) of the nodes a pod with a
// node selector and tolerations could be scheduled on; kube.Nodes
// implements it.
type NodePlatforms interface {
	Platforms(ctx context.Context, nodeSelector map[string]string, tolerations []corev1.Toleration) ([]string, error)
}
