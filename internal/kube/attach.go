package kube

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// PodAttacher streams stdin into a running container through the
// pods/attach subresource, over WebSockets where the API server supports
// them and SPDY otherwise.
type PodAttacher struct {
	Config *rest.Config
	Client kubernetes.Interface
}

// Attach sends stdin to the container and closes the container's stdin at
// EOF. It returns when the attach session ends, which for a stdinOnce
// container is when the container exits.
func (a *PodAttacher) Attach(ctx context.Context, namespace, pod, container string, stdin io.Reader) error {
	req := a.Client.CoreV1().RESTClient().Post().
		Namespace(namespace).Resource("pods").Name(pod).SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{Container: container, Stdin: true}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(a.Config, "POST", req.URL())
	if err != nil {
		return fmt.Errorf("preparing SPDY attach: %w", err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(a.Config, "GET", req.URL().String())
	if err != nil {
		return fmt.Errorf("preparing WebSocket attach: %w", err)
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin}); err != nil {
		return fmt.Errorf("attaching to %s/%s: %w", namespace, pod, err)
	}
	return nil
}
