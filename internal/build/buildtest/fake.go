// Package buildtest provides a fake cluster for tests of code that runs
// builds: a fake clientset whose simulated kubelet runs every build pod,
// receives its context through a fake attacher, pushes an image to a real
// (usually in-memory) registry and reports the digest the way Kaniko does.
package buildtest

import (
	"context"
	"fmt"
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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
)

// Cluster is a fake cluster. Pods created in it are run by a simulated
// kubelet until they terminate.
type Cluster struct {
	// Client is the fake clientset.
	Client *fake.Clientset
	// RegistryHosts maps registry names in --destination flags to the
	// address the simulated Kaniko pushes to.
	RegistryHosts map[string]string
	// ExitCode, when non-zero, makes every build fail with it.
	ExitCode int32

	mu       sync.Mutex
	uploads  map[string]chan []byte
	builds   int
	contexts [][]byte
}

// NewCluster starts a fake cluster whose builds push to registryHosts.
func NewCluster(registryHosts map[string]string) *Cluster {
	c := &Cluster{Client: fake.NewClientset(), RegistryHosts: registryHosts, uploads: map[string]chan []byte{}}
	c.Client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		pod := action.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			c.mu.Lock()
			c.builds++
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, c.builds)
			c.uploads[pod.Name] = make(chan []byte, 1)
			c.mu.Unlock()
			go c.run(pod.Namespace, pod.Name)
		}
		return false, nil, nil
	})
	return c
}

// Clients implements the provider's Cluster interface.
func (c *Cluster) Clients() (kubernetes.Interface, kaniko.Attacher, error) {
	return c.Client, attacher{c}, nil
}

// Builds returns how many build pods were created.
func (c *Cluster) Builds() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.builds
}

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
	ch := a.c.uploads[pod]
	a.c.mu.Unlock()
	ch <- data
	<-ctx.Done() // the session lasts until the executor exits
	return nil
}

func (c *Cluster) run(namespace, name string) {
	ctx := context.Background()
	pods := c.Client.CoreV1().Pods(namespace)
	var pod *corev1.Pod
	for i := 0; i < 200 && pod == nil; i++ {
		pod, _ = pods.Get(ctx, name, metav1.GetOptions{})
		if pod == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if pod == nil {
		return
	}
	set := func(state corev1.ContainerState) bool {
		latest, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		latest.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: kaniko.ContainerName, State: state}}
		_, err = pods.UpdateStatus(ctx, latest, metav1.UpdateOptions{})
		return err == nil
	}
	if !set(corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}) {
		return
	}
	args := pod.Spec.Containers[0].Args
	if pod.Spec.Containers[0].Stdin {
		c.mu.Lock()
		ch := c.uploads[name]
		c.mu.Unlock()
		select {
		case <-ch:
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
