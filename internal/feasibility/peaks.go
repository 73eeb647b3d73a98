package feasibility

import (
	"bytes"
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

// peakSampler follows one executor container.
type peakSampler interface {
	// peaks stops sampling and returns the peaks, ok=false when nothing
	// was read.
	peaks() (cpuMillicores, memoryBytes float64, ok bool)
}

func (b *bench) startSampler(ctx context.Context, pod *corev1.Pod) peakSampler {
	if b.t.Harness != nil {
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == kaniko.ContainerName && cs.ContainerID != "" {
				id := cs.ContainerID[strings.Index(cs.ContainerID, "://")+3:]
				s := &cgroupPeaks{done: make(chan struct{})}
				go func() {
					defer close(s.done)
					s.out, _ = b.t.Harness.Exec(ctx, pod.Spec.NodeName, "sh", "-c", CgroupSampler, "sampler", id)
				}()
				return s
			}
		}
		return nil
	}
	s := &kube.StatsSampler{Client: b.c.client, Node: pod.Spec.NodeName, Namespace: pod.Namespace, Pod: pod.Name, Container: kaniko.ContainerName, Interval: time.Second}
	s.Start(ctx)
	return kubeletPeaks{s}
}

func (b *bench) samplingNote() string {
	if b.t.Harness != nil {
		return "the executor container's cgroup on the node, every 100 ms; CPU is the highest rate over one interval, memory includes page cache"
	}
	return "the kubelet's summary API through the API server's node proxy, polled every 1 s; the kubelet refreshes container statistics every 10 to 15 s, so builds shorter than that may have no reading (shown as not measured); memory is the working set"
}

type cgroupPeaks struct {
	out  []byte
	done chan struct{}
}

func (c *cgroupPeaks) peaks() (float64, float64, bool) {
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		return 0, 0, false
	}
	p := ParseCgroupSamples(bytes.NewReader(c.out))
	return p.CPUMillicores, float64(p.MemoryBytes), p.Samples > 0
}

type kubeletPeaks struct{ s *kube.StatsSampler }

func (k kubeletPeaks) peaks() (float64, float64, bool) {
	peak, readings, _ := k.s.Stop()
	return peak.MilliCPU, float64(peak.MemoryBytes), readings > 0 && peak.MemoryBytes > 0
}
