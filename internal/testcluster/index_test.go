package testcluster

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var testPlatforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}}

func shellConfig(p v1.Platform) imageConfig {
	return imageConfig{Cmd: []string{"/bin/sh"}, Platform: p}
}

// testChildren are images for platforms, each of one small layer made
// here and the config cfg gives, and those layers by architecture.
func testChildren(t *testing.T, platforms []v1.Platform, cfg func(v1.Platform) imageConfig) ([]platformImage, map[string]v1.Layer) {
	t.Helper()
	layers := map[string]v1.Layer{}
	var children []platformImage
	for _, p := range platforms {
		l, err := layer([]fileEntry{{Path: "/etc/arch", Content: []byte(p.Architecture + "\n")}})
		if err != nil {
			t.Fatal(err)
		}
		img, err := ociImage([]v1.Layer{l}, cfg(p))
		if err != nil {
			t.Fatal(err)
		}
		layers[p.Architecture] = l
		children = append(children, platformImage{Platform: p, Image: img})
	}
	return children, layers
}

func TestAssembleIndex(t *testing.T) {
	children, layers := testChildren(t, testPlatforms, shellConfig)
	idx, err := assembleIndex(children)
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := idx.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", mt, types.OCIImageIndex)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := testPlatforms
	if len(im.Manifests) != len(want) {
		t.Fatalf("%d manifests, want %d", len(im.Manifests), len(want))
	}
	for i, d := range im.Manifests {
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest %d: media type %s, want %s", i, d.MediaType, types.OCIManifestSchema1)
		}
		if d.Platform == nil || !d.Platform.Equals(want[i]) {
			t.Errorf("manifest %d: platform %v, want %v", i, d.Platform, want[i])
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
			t.Errorf("manifest %d: media types %s, config %s", i, m.MediaType, m.Config.MediaType)
		}
		wantLayer, _ := layers[want[i].Architecture].Digest()
		if len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer || m.Layers[0].Digest != wantLayer {
			t.Errorf("manifest %d: layers %+v, want one %s of %s", i, m.Layers, types.OCILayer, wantLayer)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != want[i].OS || cf.Architecture != want[i].Architecture || cf.Variant != want[i].Variant {
			t.Errorf("manifest %d: config says %s/%s/%s, want %v", i, cf.OS, cf.Architecture, cf.Variant, want[i])
		}
		if len(cf.RootFS.DiffIDs) != 1 || cf.Config.Cmd[0] != "/bin/sh" {
			t.Errorf("manifest %d: config %+v", i, cf.Config)
		}
	}
}

// TestAssembleIndexPushed pushes the index to a registry and pulls each
// platform back as a client picking from an index does.
func TestAssembleIndexPushed(t *testing.T) {
	children, layers := testChildren(t, testPlatforms, shellConfig)
	idx, err := assembleIndex(children)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	ref, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://")+"/multi:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != types.OCIImageIndex {
		t.Errorf("registry serves %s, want %s", desc.MediaType, types.OCIImageIndex)
	}
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}} {
		img, err := remote.Image(ref, remote.WithPlatform(p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := ls[0].Digest()
		want, _ := layers[p.Architecture].Digest()
		if got != want {
			t.Errorf("%s: layer %s, want %s", p, got, want)
		}
	}
}

func TestAssembleIndexRefusesAConfigOfAnotherPlatform(t *testing.T) {
	l, err := layer([]fileEntry{{Path: "/x", Content: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := ociImage([]v1.Layer{l}, imageConfig{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := assembleIndex([]platformImage{{Platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, Image: img}}); err == nil {
		t.Error("an amd64 config listed as arm64 was accepted")
	}
}

func TestDescribeIndex(t *testing.T) {
	children, _ := testChildren(t, testPlatforms, shellConfig)
	idx, err := assembleIndex(children)
	if err != nil {
		t.Fatal(err)
	}
	got, err := describeIndex(idx)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(got, ", ")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "linux/amd64 0.0") || !strings.HasPrefix(parts[1], "linux/arm64/v8 0.0") || !strings.HasSuffix(got, " MB") {
		t.Errorf("describeIndex = %q", got)
	}
}
