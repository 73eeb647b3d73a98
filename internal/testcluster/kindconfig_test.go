package testcluster

import "testing"

func TestKindConfigHasEveryNode(t *testing.T) {
	h := New(Options{Workers: 2, Cache: Cache{Dir: t.TempDir()}})
	cfg := h.kindConfig("/certs.d")
	if len(cfg.Nodes) != 3 || cfg.Nodes[0].Role != "control-plane" || cfg.Nodes[2].Role != "worker" {
		t.Fatalf("nodes = %+v", cfg.Nodes)
	}
	for _, n := range cfg.Nodes {
		if len(n.ExtraMounts) != 1 || n.ExtraMounts[0].ContainerPath != "/etc/containerd/certs.d" {
			t.Errorf("node %s lacks the mirror configuration: %+v", n.Role, n.ExtraMounts)
		}
	}
	one, _ := clusterFingerprint(New(Options{Workers: 0, Cache: Cache{Dir: t.TempDir()}}).kindConfig("/certs.d"), nil)
	three, _ := clusterFingerprint(cfg, nil)
	if one == three {
		t.Error("a one-node and a three-node cluster have the same fingerprint, so one would be reused for the other")
	}
}
