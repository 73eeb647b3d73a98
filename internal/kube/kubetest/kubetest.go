// Package kubetest is the one fake kubelet of the project's tests: a
// fake clientset that names pods created with GenerateName as the API
// server does, and runs every new pod through a function, as a node
// would, moving its status along.
package kubetest

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// Clientset is a fake clientset with a kubelet.
type Clientset struct {
	*fake.Clientset

	mu      sync.Mutex
	created int
	// names of the created pods, in order.
	names []string
	// hooks are called in the create reactor, in order of creation.
	hooks []func(namespace, name string)
}

// NewClientset returns a clientset holding objects. Pods created with
// GenerateName get the name GenerateName + a five-digit counter
// (00001, 00002, ...); each created pod is handed to the functions
// registered with OnPodCreated, in a goroutine of its own, once it is
// stored.
func NewClientset(objects ...runtime.Object) *Clientset {
	c := &Clientset{Clientset: fake.NewClientset(objects...)}
	c.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		pod := action.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name != "" {
			if _, err := c.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), pod.Namespace, pod.Name); err == nil {
				return false, nil, nil // the fake refuses it: AlreadyExists
			}
		}
		c.mu.Lock()
		c.created++
		if pod.Name == "" && pod.GenerateName != "" {
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, c.created)
		}
		c.names = append(c.names, pod.Name)
		hooks := append([]func(string, string){}, c.hooks...)
		c.mu.Unlock()
		for _, hook := range hooks {
			hook(pod.Namespace, pod.Name)
		}
		return false, nil, nil
	})
	return c
}

// CreatedPod waits (at most timeout) for the n-th pod created (1 is the
// first) to be stored, and returns it; nil when it does not come.
func (c *Clientset) CreatedPod(namespace string, n int, timeout time.Duration) *corev1.Pod {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		name := ""
		if len(c.names) >= n {
			name = c.names[n-1]
		}
		c.mu.Unlock()
		if name != "" {
			return c.WaitForPod(namespace, name, time.Until(deadline))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// CreatedNames are the names of the pods created through the API, in
// order.
func (c *Clientset) CreatedNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.names...)
}

// Created is how many pods were created through the API.
func (c *Clientset) Created() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.created
}

// OnPodCreated registers run for every pod created from now on. run
// receives the pod as stored.
func (c *Clientset) OnPodCreated(run func(pod *corev1.Pod)) {
	c.onCreate(func(namespace, name string) { go c.whenStored(namespace, name, run) })
}

func (c *Clientset) onCreate(hook func(namespace, name string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hooks = append(c.hooks, hook)
}

// whenStored waits (at most a second) until the pod can be read, then
// runs fn on it: the reactor runs before the fake stores the object.
func (c *Clientset) whenStored(namespace, name string, fn func(*corev1.Pod)) {
	for i := 0; i < 200; i++ {
		pod, err := c.CoreV1().Pods(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			fn(pod)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Update applies change to the pod's latest status and stores it; false
// when the pod is gone.
func (c *Clientset) Update(namespace, name string, change func(*corev1.Pod)) bool {
	pods := c.CoreV1().Pods(namespace)
	pod, err := pods.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	change(pod)
	_, err = pods.UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
	return err == nil
}

// Play moves the next pod created through steps, one every 20ms, as a
// scripted kubelet.
func (c *Clientset) Play(steps ...func(*corev1.Pod)) {
	var once sync.Once
	c.onCreate(func(namespace, name string) {
		once.Do(func() {
			go c.whenStored(namespace, name, func(*corev1.Pod) {
				for _, step := range steps {
					time.Sleep(20 * time.Millisecond)
					if !c.Update(namespace, name, step) {
						return
					}
				}
			})
		})
	})
}

// WaitForPod waits until the pod exists and returns it, or nil after
// the timeout.
func (c *Clientset) WaitForPod(namespace, name string, timeout time.Duration) *corev1.Pod {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if pod, err := c.CoreV1().Pods(namespace).Get(context.Background(), name, metav1.GetOptions{}); err == nil {
			return pod
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// ContainerState is a step that sets the named container's state.
func ContainerState(container string, state corev1.ContainerState) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: container, State: state}}
	}
}
