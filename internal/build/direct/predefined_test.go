package direct

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Kaniko builds each platform of a Dockerfile without RUN on whichever
// node its pod lands on, with --custom-platform: BUILDARCH is the nodes'
// architecture (all amd64 here), TARGETARCH the platform's, and
// TARGETSTAGE "default" for an unnamed stage (Kaniko's
// InitPredefinedArgs).
func TestMultiPlatformPredefinedArgsAreKanikos(t *testing.T) {
	e, _, host := setup(t)
	e.Nodes = &fakeNodes{platforms: []string{"linux/amd64"}}
	pushMultiPlatformBase(t, host)
	spec := specFor(map[string]string{
		"Dockerfile": "FROM " + clusterRegistry + "/multi:1\nARG BUILDARCH\nARG TARGETARCH\nARG TARGETSTAGE\nLABEL b=$BUILDARCH t=$TARGETARCH s=$TARGETSTAGE\nCOPY a /a\n",
		"a":          "x",
	})
	spec.Platforms = []string{"linux/arm64", "linux/amd64"}
	if _, err := buildWith(e, spec); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/app:latest", name.Insecure)
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		l := cfg.Config.Labels
		if l["b"] != "amd64" || l["t"] != d.Platform.Architecture || l["s"] != "default" {
			t.Errorf("%s: BUILDARCH=%q TARGETARCH=%q TARGETSTAGE=%q, want amd64, %s, default", d.Platform, l["b"], l["t"], l["s"], d.Platform.Architecture)
		}
	}
}

// Nodes of different platforms leave BUILDARCH unknown: a Dockerfile
// that reads it cannot be built directly for several platforms.
func TestMultiPlatformBuildArchOfMixedNodesIsUnknown(t *testing.T) {
	e, _, host := setup(t)
	e.Nodes = &fakeNodes{platforms: []string{"linux/amd64", "linux/arm64"}}
	pushMultiPlatformBase(t, host)
	spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/multi:1\nARG BUILDARCH\nLABEL b=$BUILDARCH\n"})
	spec.Platforms = []string{"linux/arm64", "linux/amd64"}
	if _, err := buildWith(e, spec); err == nil {
		t.Fatal("BUILDARCH of mixed nodes was given a value")
	}
}

func TestTargetStageIsTheStageNameOrDefault(t *testing.T) {
	for dockerfile, want := range map[string]string{
		"FROM " + clusterRegistry + "/base:1\nARG TARGETSTAGE\nLABEL s=$TARGETSTAGE\n":          "default",
		"FROM " + clusterRegistry + "/base:1 AS Final\nARG TARGETSTAGE\nLABEL s=$TARGETSTAGE\n": "final",
	} {
		e, _, _ := setup(t)
		e.Nodes = &fakeNodes{platforms: []string{"linux/amd64"}}
		res, err := buildWith(e, specFor(map[string]string{"Dockerfile": dockerfile}))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := pulled(t, e, clusterRegistry+"/app@"+res.Digest).ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Config.Labels["s"]; got != want {
			t.Errorf("TARGETSTAGE = %q, want %q\n%s", got, want, dockerfile)
		}
	}
}
