package testcluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WireRegistry makes registry.kube-system.svc.cluster.local:5000 resolve
// to the registry container and publishes the registry per KEP-1755. Call
// it again after restarting the registry container, whose address on the
// kind network may change.
func (h *Harness) WireRegistry(ctx context.Context) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	ip, err := h.registryIP(ctx)
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: "kube-system", Labels: map[string]string{"app.kubernetes.io/managed-by": "onesbuild-harness"}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 5000, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := client.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the registry Service: %w", err)
	}
	port, proto, name := int32(5000), corev1.ProtocolTCP, "http"
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "registry-1", Namespace: "kube-system", Labels: map[string]string{
			discoveryv1.LabelServiceName: "registry", discoveryv1.LabelManagedBy: "onesbuild-harness",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}}},
	}
	slices := client.DiscoveryV1().EndpointSlices("kube-system")
	if existing, err := slices.Get(ctx, slice.Name, metav1.GetOptions{}); err == nil {
		slice.ResourceVersion = existing.ResourceVersion
		_, err = slices.Update(ctx, slice, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("updating the registry EndpointSlice: %w", err)
		}
	} else if _, err := slices.Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the registry EndpointSlice: %w", err)
	}
	hosting := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "local-registry-hosting", Namespace: "kube-public"},
		Data: map[string]string{"localRegistryHosting.v1": fmt.Sprintf(
			"host: %q\nhostFromContainerRuntime: %q\nhostFromClusterNetwork: %q\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n",
			h.hostRegistry(), h.RegistryName+":5000", clusterRegistryName)},
	}
	cms := client.CoreV1().ConfigMaps("kube-public")
	if _, err := cms.Create(ctx, hosting, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = cms.Update(ctx, hosting, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	h.Progress.Printf("registry wired: %s -> %s:5000 (container %s)", clusterRegistryName, ip, h.RegistryName)
	return nil
}
