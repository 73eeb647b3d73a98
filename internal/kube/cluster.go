package kube

import (
	"context"
	"io"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Attacher streams data to a container's stdin (the pods/attach
// subresource). It returns when the attach session ends. PodAttacher
// implements it.
type Attacher interface {
	Attach(ctx context.Context, namespace, pod, container string, stdin io.Reader) error
}

// Cluster is a connection to a cluster: its clientset and attacher, and
// the REST configuration port-forwards dial with. Connection implements
// it; tests pass a fake cluster.
type Cluster interface {
	// Clients returns the clientset and the attacher, or why there is no
	// cluster to talk to.
	Clients() (kubernetes.Interface, Attacher, error)
	// RESTConfig returns the connection's configuration, for
	// port-forwards; a cluster that cannot port-forward says so.
	RESTConfig() (*rest.Config, error)
}

// Connection is a Cluster resolved from ConnectionOptions on first use,
// so that planning and reading images work without a reachable cluster;
// the outcome, good or bad, is kept.
type Connection struct {
	Options ConnectionOptions
	// Getenv reads environment variables (KUBECONFIG and the like); nil
	// means none are set.
	Getenv func(string) string

	once     sync.Once
	cfg      *rest.Config
	client   kubernetes.Interface
	attacher Attacher
	err      error
}

var _ Cluster = (*Connection)(nil)

// RESTConfig returns the resolved configuration.
func (c *Connection) RESTConfig() (*rest.Config, error) {
	_, _, err := c.Clients()
	return c.cfg, err
}

// Clients connects on first use.
func (c *Connection) Clients() (kubernetes.Interface, Attacher, error) {
	c.once.Do(func() {
		getenv := c.Getenv
		if getenv == nil {
			getenv = func(string) string { return "" }
		}
		var cfg *rest.Config
		cfg, c.err = RESTConfig(c.Options, getenv)
		if c.err != nil {
			return
		}
		var cs *kubernetes.Clientset
		cs, c.err = kubernetes.NewForConfig(cfg)
		if c.err != nil {
			return
		}
		c.cfg, c.client, c.attacher = cfg, cs, &PodAttacher{Config: cfg, Client: cs}
	})
	return c.client, c.attacher, c.err
}

// LazyServiceForward is a ServiceForward through a Cluster, set up on
// first use: a port-forward configured in a provider block must not
// need the cluster until a registry behind it is asked.
type LazyServiceForward struct {
	Cluster   Cluster
	Namespace string
	Service   string
	Port      int

	mu sync.Mutex
	fw *ServiceForward
}

// Address returns host:port on this machine that reaches the Service.
func (l *LazyServiceForward) Address(ctx context.Context) (string, error) {
	fw, err := l.forward()
	if err != nil {
		return "", err
	}
	return fw.Address(ctx)
}

func (l *LazyServiceForward) forward() (*ServiceForward, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fw != nil {
		return l.fw, nil
	}
	cfg, err := l.Cluster.RESTConfig()
	if err != nil {
		return nil, err
	}
	client, _, err := l.Cluster.Clients()
	if err != nil {
		return nil, err
	}
	l.fw = &ServiceForward{Config: cfg, Client: client, Namespace: l.Namespace, Service: l.Service, Port: l.Port}
	return l.fw, nil
}
