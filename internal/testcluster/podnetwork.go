package testcluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeNetwork is what pod networking needs to know of one node.
type nodeNetwork struct {
	name, podCIDR, ip string
}

// ptpConflistFor is the CNI configuration of a node: point-to-point
// links with addresses from the node's own pod subnet.
func ptpConflistFor(podCIDR string) string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "ptp",
  "plugins": [
    {"type": "ptp", "ipMasq": true, "mtu": 1500,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR)
}

// routeCommands are the ip route commands node n needs to reach the pod
// subnets of the others.
func routeCommands(n nodeNetwork, all []nodeNetwork) [][]string {
	var cmds [][]string
	for _, o := range all {
		if o.name != n.name {
			cmds = append(cmds, []string{"ip", "route", "replace", o.podCIDR, "via", o.ip})
		}
	}
	return cmds
}

// wirePodNetwork writes each node's CNI configuration and routes, once
// the controller manager has given every node its pod subnet.
func (h *Harness) wirePodNetwork(ctx context.Context) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	var nodes []nodeNetwork
	err = poll(ctx, time.Second, 2*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		nodes = nil
		if err != nil {
			return false, err
		}
		for _, n := range list.Items {
			ip := ""
			for _, a := range n.Status.Addresses {
				if a.Type == corev1.NodeInternalIP {
					ip = a.Address
				}
			}
			if n.Spec.PodCIDR != "" && ip != "" {
				nodes = append(nodes, nodeNetwork{n.Name, n.Spec.PodCIDR, ip})
			}
		}
		return len(nodes) == h.Workers+1, nil
	}, func(last error) error {
		return fmt.Errorf("%d of %d nodes have a pod subnet after 2 minutes (%v)", len(nodes), h.Workers+1, last)
	})
	if err != nil {
		return err
	}
	for _, n := range nodes {
		write := cmd("docker", "exec", "-i", n.name, "sh", "-c", "mkdir -p /etc/cni/net.d && cat > /etc/cni/net.d/10-ptp.conflist")
		write.stdin = strings.NewReader(ptpConflistFor(n.podCIDR))
		if _, err := output(ctx, write); err != nil {
			return fmt.Errorf("writing the CNI configuration of %s: %w", n.name, err)
		}
		for _, r := range routeCommands(n, nodes) {
			if _, err := output(ctx, cmd("docker", append([]string{"exec", n.name}, r...)...)); err != nil {
				return fmt.Errorf("adding a route on %s: %w", n.name, err)
			}
		}
		h.Progress.Printf("node %s: pod subnet %s, address %s", n.name, n.podCIDR, n.ip)
	}
	return nil
}
