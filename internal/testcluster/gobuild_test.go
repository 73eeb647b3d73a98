package testcluster

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/hostprep"
)

func TestWrapperGoMod(t *testing.T) {
	upstream := []byte(`module k8s.io/kubernetes

go 1.26.0

require k8s.io/api v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	github.com/example/forked => github.com/example/fork v1.2.3
)
`)
	got, err := wrapperGoMod("kubernetes", "k8s.io/kubernetes", "v1.37.2", "v0.37.2", upstream)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"module onesbuild.local/build/kubernetes",
		"require k8s.io/kubernetes v1.37.2",
		"k8s.io/api => k8s.io/api v0.37.2",
		"k8s.io/client-go => k8s.io/client-go v0.37.2",
		"github.com/example/forked => github.com/example/fork v1.2.3",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("wrapper go.mod lacks %q:\n%s", want, got)
		}
	}
	dropped, err := wrapperGoMod("etcd", "go.etcd.io/etcd/server/v3", "v3.7.0", "", upstream)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(dropped), "k8s.io/api =>") || !strings.Contains(string(dropped), "github.com/example/fork v1.2.3") {
		t.Errorf("without a local replacement version, local replacements must be dropped and others kept:\n%s", dropped)
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"1.25", "1.26.0", true}, {"1.26.0", "1.26", false}, {"1.26.0", "1.26.1", true}, {"1.27", "1.26.9", false}} {
		if got := versionLess(c.a, c.b); got != c.want {
			t.Errorf("versionLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestRecipeChangesWithVersion(t *testing.T) {
	a := kanikoComponent
	b := kanikoComponent
	b.Version = "v1.25.0"
	if a.recipe() == b.recipe() {
		t.Fatal("a version change did not change the recipe")
	}
	c := Cache{Dir: t.TempDir()}
	if fresh(a.Dir(c), a.recipe(), "executor") {
		t.Fatal("an empty cache was reported fresh")
	}
}

func TestPrivilegedProblem(t *testing.T) {
	const full hostprep.CapabilitySet = 0x000001ffffffffff
	const lacksSysResource hostprep.CapabilitySet = 0x000001fffeffffff
	if p := privilegedProblem(full, "runc"); p != "" {
		t.Errorf("complete bounding set reported %q", p)
	}
	if p := privilegedProblem(lacksSysResource, capFilterRuntime); p != "" {
		t.Errorf("wrapper installed but reported %q", p)
	}
	p := privilegedProblem(lacksSysResource, "runc")
	if !strings.Contains(p, "CAP_SYS_RESOURCE") || !strings.Contains(p, capFilterRuntime) {
		t.Errorf("problem %q does not name the missing capability and the fix", p)
	}
}

func TestHostsToml(t *testing.T) {
	got := hostsToml("registry.k8s.io", "onesbuild-registry:5000")
	if !strings.Contains(got, `server = "https://registry.k8s.io"`) || !strings.Contains(got, `[host."http://onesbuild-registry:5000"]`) {
		t.Errorf("hosts.toml for registry.k8s.io:\n%s", got)
	}
	if got := hostsToml("localhost:5000", "onesbuild-registry:5000"); !strings.Contains(got, `server = "http://onesbuild-registry:5000"`) {
		t.Errorf("hosts.toml for localhost:5000 must not fall back to the node itself:\n%s", got)
	}
}

func TestPodNetworkPerNode(t *testing.T) {
	nodes := []nodeNetwork{{"cp", "10.244.0.0/24", "172.18.0.3"}, {"w1", "10.244.1.0/24", "172.18.0.4"}, {"w2", "10.244.2.0/24", "172.18.0.5"}}
	got := routeCommands(nodes[1], nodes)
	want := [][]string{
		{"ip", "route", "replace", "10.244.0.0/24", "via", "172.18.0.3"},
		{"ip", "route", "replace", "10.244.2.0/24", "via", "172.18.0.5"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("routes of w1 = %v, want %v", got, want)
	}
	var conf struct {
		Plugins []struct {
			IPAM struct {
				Ranges [][]struct{ Subnet string } `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(ptpConflistFor("10.244.1.0/24")), &conf); err != nil {
		t.Fatalf("conflist is not JSON: %v", err)
	}
	if conf.Plugins[0].IPAM.Ranges[0][0].Subnet != "10.244.1.0/24" {
		t.Errorf("conflist subnet = %+v", conf.Plugins[0].IPAM)
	}
}

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

func TestBuildCommands(t *testing.T) {
	one := kubernetesComponent.buildCommands("/out")
	if len(one) != 1 || one[0][len(one[0])-8] != "/out/" || one[0][len(one[0])-1] != "k8s.io/kubernetes/cmd/kube-proxy" {
		t.Errorf("the seven Kubernetes binaries do not come from one go build: %v", one)
	}
	etcd := etcdComponent.buildCommands("/out")
	if len(etcd) != 1 || etcd[0][len(etcd[0])-2] != "/out/etcd" {
		t.Errorf("a binary not named after its package needs its own -o: %v", etcd)
	}
	for _, c := range append(one, etcd...) {
		if c[1] != "-v" {
			t.Errorf("go build without -v gives no progress: %v", c)
		}
	}
}
