package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ContainerUsage is one reading of a container's resource use.
type ContainerUsage struct {
	At time.Time
	// MilliCPU is the CPU rate the kubelet last computed, in millicores.
	MilliCPU float64
	// MemoryBytes is the working set: memory in use, less the page cache
	// the kernel can reclaim.
	MemoryBytes uint64
}

// summary is the part of the kubelet's /stats/summary read here.
type summary struct {
	Pods []struct {
		PodRef struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"podRef"`
		Containers []struct {
			Name string `json:"name"`
			CPU  *struct {
				Time           time.Time `json:"time"`
				UsageNanoCores *uint64   `json:"usageNanoCores"`
			} `json:"cpu"`
			Memory *struct {
				Time            time.Time `json:"time"`
				WorkingSetBytes *uint64   `json:"workingSetBytes"`
			} `json:"memory"`
		} `json:"containers"`
	} `json:"pods"`
}

// ContainerStats reads a container's usage from the kubelet's summary
// API through the API server's node proxy: no access to the node itself,
// only "get" on nodes/proxy (or nodes/stats).
func ContainerStats(ctx context.Context, client kubernetes.Interface, node, namespace, pod, container string) (*ContainerUsage, error) {
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy", "stats", "summary").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the kubelet summary of node %s: %w", node, err)
	}
	var s summary
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("parsing the kubelet summary of node %s: %w", node, err)
	}
	for _, p := range s.Pods {
		if p.PodRef.Name != pod || p.PodRef.Namespace != namespace {
			continue
		}
		for _, c := range p.Containers {
			if c.Name != container {
				continue
			}
			u := &ContainerUsage{}
			if c.Memory != nil && c.Memory.WorkingSetBytes != nil {
				u.MemoryBytes, u.At = *c.Memory.WorkingSetBytes, c.Memory.Time
			}
			if c.CPU != nil && c.CPU.UsageNanoCores != nil {
				u.MilliCPU = float64(*c.CPU.UsageNanoCores) / 1e6
				if u.At.IsZero() {
					u.At = c.CPU.Time
				}
			}
			return u, nil
		}
	}
	return nil, nil
}

// StatsSampler polls a container's usage until stopped and keeps the
// peaks. The kubelet refreshes container statistics every few seconds
// (cAdvisor's housekeeping), so Interval only bounds how stale a reading
// is; Readings tells how many distinct readings the peaks come from.
type StatsSampler struct {
	Client                          kubernetes.Interface
	Node, Namespace, Pod, Container string
	Interval                        time.Duration

	mu sync.Mutex
	// capacity is the node's CPU in millicores, 0 when unknown: the
	// kubelet's rate for a container that just started is sometimes
	// computed over a sliver of time and comes out larger than the node
	// (tens of cores on two), a reading no container can have.
	capacity float64
	peak     ContainerUsage
	readings map[time.Time]bool
	err      error
	stop     chan struct{}
	done     chan struct{}
}

// Start begins polling.
func (s *StatsSampler) Start(ctx context.Context) {
	if s.Interval == 0 {
		s.Interval = time.Second
	}
	s.readings = map[time.Time]bool{}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	// list, not get: what the feasibility ClusterRole grants on nodes.
	if l, err := s.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + s.Node}); err == nil && len(l.Items) == 1 {
		s.capacity = float64(l.Items[0].Status.Capacity.Cpu().MilliValue())
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.Interval)
		defer t.Stop()
		for {
			s.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

func (s *StatsSampler) sample(ctx context.Context) {
	u, err := ContainerStats(ctx, s.Client, s.Node, s.Namespace, s.Pod, s.Container)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.err = err
		return
	}
	if u == nil || u.At.IsZero() {
		return
	}
	s.readings[u.At] = true
	if u.MemoryBytes > s.peak.MemoryBytes {
		s.peak.MemoryBytes = u.MemoryBytes
	}
	if u.MilliCPU > s.peak.MilliCPU && plausibleCPU(u.MilliCPU, s.capacity) {
		s.peak.MilliCPU = u.MilliCPU
	}
}

// Stop ends polling and returns the peaks, how many distinct readings
// they come from, and the last error (for example, no permission).
func (s *StatsSampler) Stop() (peak ContainerUsage, readings int, err error) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, len(s.readings), s.err
}

// plausibleCPU tells a CPU reading a container on a node of capacity
// millicores (0: unknown) can have.
func plausibleCPU(milli, capacity float64) bool { return capacity == 0 || milli <= capacity }
