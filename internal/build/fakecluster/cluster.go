// Package fakecluster is a fake cluster for tests of code that runs
// builds: kubetest's fake clientset, whose kubelet runs every build pod
// as Kaniko would: it receives the context through a fake attacher,
// pushes an image to a real (usually in-memory) registry and reports the
// digest in the termination message.
package fakecluster

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube/kubetest"
)

// Cluster is a fake cluster. Pods created in it are run by a simulated
// kubelet until they terminate.
type Cluster struct {
	// Client is the fake clientset.
	Client *kubetest.Clientset
	// RegistryHosts maps registry names in --destination flags to the
	// address the simulated Kaniko pushes to.
	RegistryHosts map[string]string
	// ExitCode, when non-zero, makes every build fail with it.
	ExitCode int32

	mu       sync.Mutex
	uploads  map[string]chan []byte
	contexts [][]byte
}

// New starts a fake cluster whose builds push to registryHosts.
func New(registryHosts map[string]string) *Cluster {
	c := &Cluster{Client: kubetest.NewClientset(), RegistryHosts: registryHosts, uploads: map[string]chan []byte{}}
	c.Client.OnPodCreated(c.run)
	return c
}

var _ kube.Cluster = (*Cluster)(nil)

// Clients implements kube.Cluster.
func (c *Cluster) Clients() (kubernetes.Interface, kube.Attacher, error) {
	return c.Client, attacher{c}, nil
}

// RESTConfig implements kube.Cluster: a fake cluster has no API server
// to port-forward through.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	return nil, errors.New("the fake cluster cannot port-forward")
}

// Builds returns how many build pods were created.
func (c *Cluster) Builds() int { return c.Client.Created() }

// Contexts returns the gzip contexts received, in order.
func (c *Cluster) Contexts() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.contexts...)
}

// Pods lists the pods that currently exist in the namespace.
func (c *Cluster) Pods(namespace string) []corev1.Pod {
	list, _ := c.Client.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{})
	return list.Items
}

type attacher struct{ c *Cluster }

func (a attacher) Attach(ctx context.Context, namespace, pod, container string, stdin io.Reader) error {
	data, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	a.c.mu.Lock()
	a.c.contexts = append(a.c.contexts, data)
	a.c.mu.Unlock()
	a.c.upload(pod) <- data
	<-ctx.Done() // the session lasts until the executor exits
	return nil
}

// upload is the channel a pod's context arrives on.
func (c *Cluster) upload(pod string) chan []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.uploads[pod]
	if !ok {
		ch = make(chan []byte, 1)
		c.uploads[pod] = ch
	}
	return ch
}

// run plays the kubelet and Kaniko for one build pod.
func (c *Cluster) run(pod *corev1.Pod) {
	set := func(state corev1.ContainerState) bool {
		return c.Client.Update(pod.Namespace, pod.Name, kubetest.ContainerState(kaniko.ContainerName, state))
	}
	if !set(corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}) {
		return
	}
	args := pod.Spec.Containers[0].Args
	if pod.Spec.Containers[0].Stdin {
		select {
		case <-c.upload(pod.Name):
		case <-time.After(30 * time.Second):
			return
		}
	}
	if c.ExitCode != 0 {
		set(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: c.ExitCode, Reason: "Error"}})
		return
	}
	digest, err := c.push(args)
	if err != nil {
		set(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: err.Error()}})
		return
	}
	set(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", Message: digest}})
}

// push plays Kaniko: it pushes a new random image to every destination,
// labelled with the build arguments it was given.
func (c *Cluster) push(args []string) (string, error) {
	img, err := random.Image(512, 1)
	if err != nil {
		return "", err
	}
	labels := map[string]string{}
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--label="); ok {
			k, val, _ := strings.Cut(v, "=")
			labels[k] = val
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cfg.Config.Labels = labels
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return "", err
	}
	for _, a := range args {
		dest, ok := strings.CutPrefix(a, "--destination=")
		if !ok {
			continue
		}
		host, rest, _ := strings.Cut(dest, "/")
		if mapped, ok := c.RegistryHosts[host]; ok {
			dest = mapped + "/" + rest
		}
		ref, err := name.ParseReference(dest, name.Insecure)
		if err != nil {
			return "", err
		}
		if err := remote.Write(ref, img); err != nil {
			return "", err
		}
	}
	d, err := img.Digest()
	return d.String(), err
}
