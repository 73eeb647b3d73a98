package testcluster

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestStudyBasePlatforms(t *testing.T) {
	want := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}}
	if len(studyBasePlatforms) != len(want) {
		t.Fatalf("platforms %v, want %v", studyBasePlatforms, want)
	}
	for i, p := range studyBasePlatforms {
		if !p.Equals(want[i]) {
			t.Errorf("platform %d is %v, want %v", i, p, want[i])
		}
		img, err := ociImage(nil, studyBaseConfig(p))
		if err != nil {
			t.Fatal(err)
		}
		if cf, _ := img.ConfigFile(); cf.Architecture != p.Architecture || cf.Variant != p.Variant || cf.Config.Cmd[0] != "/bin/sh" {
			t.Errorf("%v: config %+v", p, cf)
		}
	}
}

// TestBuildIndex checks what the harness pushes for a multi-platform
// image: every child labelled with the recipe, and the sizes printed.
func TestBuildIndex(t *testing.T) {
	children, _ := testChildren(t, studyBasePlatforms, studyBaseConfig)
	var out bytes.Buffer
	h := New(Options{Cache: Cache{Dir: t.TempDir()}, Out: &out})
	img := registryImage{
		Path: StudyBaseMultiImage, Recipe: "test/v1",
		BuildPlatforms: func(context.Context, *Harness) ([]platformImage, error) { return children, nil },
	}
	idx, err := h.buildIndex(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		child, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := child.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.Labels[recipeLabel] != recipeHash("test/v1") || cf.Config.Labels["org.opencontainers.image.title"] == "" {
			t.Errorf("%s: labels %v", d.Platform, cf.Config.Labels)
		}
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s: media type %s after labelling", d.Platform, d.MediaType)
		}
	}
	if !strings.Contains(out.String(), "image "+StudyBaseMultiImage+": an OCI index of linux/amd64 0.0") || !strings.Contains(out.String(), "linux/arm64/v8 ") {
		t.Errorf("progress lacks the children's sizes:\n%s", out.String())
	}
}

func TestStudyBaseRecipes(t *testing.T) {
	if studyBaseLayerRecipe(hostArch()) != studyBaseRecipe() {
		t.Error("the host's layer of the multi-platform base is not the single-platform base's")
	}
	foreign := studyBaseForeignRecipe("arm64")
	if !strings.Contains(foreign, "\narm64\n") || foreign == studyBaseRecipe() {
		t.Errorf("foreign recipe %q does not name its architecture", foreign)
	}
	if recipeHash(studyBaseMultiRecipe()) == recipeHash(studyBaseRecipe()) {
		t.Error("the multi-platform base has the single-platform base's recipe")
	}
	var found bool
	for _, img := range registryImages() {
		if img.Path == StudyBaseMultiImage {
			found = img.BuildPlatforms != nil && img.Build == nil
		}
	}
	if !found {
		t.Errorf("registryImages lacks %s built as an index", StudyBaseMultiImage)
	}
	if env := New(Options{Cache: Cache{Dir: t.TempDir()}}).env(); env.BaseImageMulti != clusterRegistryName+"/"+StudyBaseMultiImage {
		t.Errorf("Env.BaseImageMulti = %q", env.BaseImageMulti)
	}
}

func TestSourceVersion(t *testing.T) {
	for deb, want := range map[string]string{
		"/x/busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb": "1%3a1.35.0-4+deb12u1",
		"busybox-static_1%3a1.35.0-4+deb12u1+b12_amd64.deb":   "1%3a1.35.0-4+deb12u1",
		"libbrotli1_1.0.9-2+b6_arm64.deb":                     "1.0.9-2",
		"nodejs_18.20.4+dfsg-1~deb12u2_arm64.deb":             "18.20.4+dfsg-1~deb12u2",
		"node-acorn_8.8.1+ds+~cs25.17.7-2_all.deb":            "8.8.1+ds+~cs25.17.7-2",
		"odd_1.0+b_all.deb":                                   "1.0+b",
	} {
		if got := sourceVersion(deb); got != want {
			t.Errorf("sourceVersion(%q) = %q, want %q", deb, got, want)
		}
	}
}

func TestLinkApplets(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"busybox", "sh"} {
		if err := os.WriteFile(filepath.Join(bin, f), []byte(f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := linkApplets(root, []string{"busybox", "sh", "ls", "[["}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"ls", "[["} {
		if target, err := os.Readlink(filepath.Join(bin, a)); err != nil || target != "/bin/busybox" {
			t.Errorf("bin/%s -> %q (%v), want /bin/busybox", a, target, err)
		}
	}
	for _, f := range []string{"busybox", "sh"} {
		if info, err := os.Lstat(filepath.Join(bin, f)); err != nil || !info.Mode().IsRegular() {
			t.Errorf("bin/%s was replaced (%v)", f, err)
		}
	}
	if err := linkApplets(root, []string{"../escape"}); err == nil {
		t.Error("an applet name with a slash was accepted")
	}
	if err := linkApplets(t.TempDir(), []string{"ls"}); err == nil {
		t.Error("a tree without bin/busybox was accepted")
	}
}
