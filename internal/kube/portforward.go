package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// ServiceForward forwards a local port on 127.0.0.1 to a port of a
// Service, through the API server's pods/portforward subresource, as
// "kubectl port-forward service/<name>" does: to one ready pod behind the
// Service. It is started on first use and started again when the
// connection was lost (the pod replaced, say).
type ServiceForward struct {
	Config    *rest.Config
	Client    kubernetes.Interface
	Namespace string
	Service   string
	Port      int

	mu    sync.Mutex
	addr  string
	done  chan struct{}
	close chan struct{}
}

// Address returns host:port on this machine that reaches the Service,
// starting the forward when none runs.
func (f *ServiceForward) Address(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done != nil {
		select {
		case <-f.done:
			f.addr, f.done = "", nil // lost; start again
		default:
			return f.addr, nil
		}
	}
	pod, port, err := f.target(ctx)
	if err != nil {
		return "", err
	}
	url := f.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(f.Namespace).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(f.Config)
	if err != nil {
		return "", err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(url, f.Config); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return "", fmt.Errorf("forwarding to %s/%s: %w", f.Namespace, pod, err)
	}
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- fw.ForwardPorts()
		close(done)
	}()
	select {
	case <-ready:
	case err := <-errc:
		return "", fmt.Errorf("forwarding to pod %s/%s port %d: %w", f.Namespace, pod, port, err)
	case <-ctx.Done():
		close(stop)
		return "", ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		close(stop)
		return "", fmt.Errorf("forwarding to pod %s/%s: no local port: %v", f.Namespace, pod, err)
	}
	f.addr, f.done, f.close = "127.0.0.1:"+strconv.Itoa(int(ports[0].Local)), done, stop
	return f.addr, nil
}

// Stop ends the forward, if one runs.
func (f *ServiceForward) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done != nil {
		close(f.close)
		f.done = nil
	}
}

// target picks a ready pod behind the Service and the container port the
// Service port leads to.
func (f *ServiceForward) target(ctx context.Context) (string, int, error) {
	svc, err := f.Client.CoreV1().Services(f.Namespace).Get(ctx, f.Service, metav1.GetOptions{})
	if err != nil {
		return "", 0, fmt.Errorf("reading service %s/%s: %w", f.Namespace, f.Service, err)
	}
	if len(svc.Spec.Selector) == 0 {
		return "", 0, fmt.Errorf("service %s/%s has no selector, so no pod to forward to", f.Namespace, f.Service)
	}
	var target *intstr.IntOrString
	for _, p := range svc.Spec.Ports {
		if int(p.Port) == f.Port {
			tp := p.TargetPort
			if tp.IntValue() == 0 && tp.StrVal == "" {
				tp = intstr.FromInt32(p.Port)
			}
			target = &tp
		}
	}
	if target == nil {
		return "", 0, fmt.Errorf("service %s/%s has no port %d", f.Namespace, f.Service, f.Port)
	}
	pods, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return "", 0, fmt.Errorf("listing the pods of service %s/%s: %w", f.Namespace, f.Service, err)
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil || !ready(p) {
			continue
		}
		if target.Type == intstr.Int {
			return p.Name, target.IntValue(), nil
		}
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == target.StrVal {
					return p.Name, int(cp.ContainerPort), nil
				}
			}
		}
	}
	return "", 0, errors.New("no ready pod behind service " + f.Namespace + "/" + f.Service)
}

func ready(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
