package testcluster

import (
	"strings"
	"testing"
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
