package direct

import (
	"archive/tar"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs"
)

// fakeNodes answers with fixed platforms or an error.
type fakeNodes struct {
	platforms []string
	err       error
	asked     []map[string]string
}

func (f *fakeNodes) Platforms(_ context.Context, selector map[string]string, _ []corev1.Toleration) ([]string, error) {
	f.asked = append(f.asked, selector)
	return f.platforms, f.err
}

// pushMultiPlatformBase writes <registry>/multi:1, an index of an amd64
// and an arm64 image, each with a file naming its architecture.
func pushMultiPlatformBase(t *testing.T, host string) {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := mutate.AppendLayers(empty.Image, tarLayer(t, &tar.Header{Typeflag: tar.TypeReg, Name: "arch-" + arch, Mode: 0o644}))
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, _ := name.ParseReference(host+"/multi:1", name.Insecure)
	if err := remote.WriteIndex(ref, mutate.AppendManifests(empty.Index, adds...)); err != nil {
		t.Fatal(err)
	}
}

func reasonOf(err error) build.FailureReason {
	var f *build.Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	return ""
}

// TestPlatformIsKanikos: a direct build takes the platform Kaniko would:
// the spec's, else that of the nodes a build pod could run on, and never
// the platform of the machine running the build.
func TestPlatformIsKanikos(t *testing.T) {
	multi := map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/multi:1\nCOPY a /a\n", "a": "x"}
	for _, tt := range []struct {
		name       string
		nodes      *fakeNodes
		platform   string
		wantArch   string
		wantReason build.FailureReason
	}{
		{name: "list nodes forbidden", nodes: &fakeNodes{err: errors.New(`nodes is forbidden: User "builder" cannot list resource "nodes"`)}, wantReason: build.ReasonPlatform},
		{name: "no cluster", wantReason: build.ReasonPlatform},
		{name: "mixed-architecture nodes", nodes: &fakeNodes{platforms: []string{"linux/amd64", "linux/arm64"}}, wantReason: build.ReasonPlatform},
		{name: "no node matches", nodes: &fakeNodes{platforms: []string{}}, wantReason: build.ReasonPlatform},
		{name: "every node arm64", nodes: &fakeNodes{platforms: []string{"linux/arm64"}}, wantArch: "arm64"},
		{name: "the spec's platform wins", nodes: &fakeNodes{err: errors.New("forbidden")}, platform: "linux/amd64", wantArch: "amd64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _, host := setup(t)
			pushMultiPlatformBase(t, host)
			if tt.nodes != nil {
				e.Nodes = tt.nodes
			}
			spec := specFor(multi)
			spec.Platform = tt.platform
			spec.Pod.NodeSelector = map[string]string{"pool": "build"}
			_, planErr := e.Plan(context.Background(), spec)
			res, err := buildWith(e, spec)
			if tt.wantReason != "" {
				if reasonOf(planErr) != tt.wantReason || reasonOf(err) != tt.wantReason {
					t.Fatalf("plan err %v, build err %v; want %s from both", planErr, err, tt.wantReason)
				}
				if !strings.Contains(err.Error(), "set the build's platform") {
					t.Errorf("the error does not say what to do: %v", err)
				}
				return
			}
			if planErr != nil || err != nil {
				t.Fatalf("plan err %v, build err %v", planErr, err)
			}
			fs, err := imagefs.Files(pulled(t, e, clusterRegistry+"/app@"+res.Digest))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := fs["/arch-"+tt.wantArch]; !ok {
				t.Errorf("built on the wrong base for %s: %v", tt.wantArch, fs)
			}
			if tt.nodes != nil && tt.platform == "" && (len(tt.nodes.asked) == 0 || tt.nodes.asked[0]["pool"] != "build") {
				t.Errorf("the nodes were not asked with the pod's node selector: %v", tt.nodes.asked)
			}
		})
	}
}

// TestPredefinedPlatformArgs: ARG TARGETARCH and the others have the
// values Kaniko gives them, so COPY bin/${TARGETARCH} copies one
// directory, not every architecture's.
func TestPredefinedPlatformArgs(t *testing.T) {
	files := map[string]string{
		"Dockerfile": "FROM " + clusterRegistry + "/base:1\nARG TARGETARCH\nARG TARGETPLATFORM\nARG TARGETOS\nARG BUILDPLATFORM\n" +
			"COPY bin/${TARGETARCH} /opt/app/\nENV T=$TARGETPLATFORM O=$TARGETOS B=$BUILDPLATFORM\n",
		"bin/amd64/main": "amd64 binary", "bin/arm64/main": "arm64 binary",
	}
	for _, tt := range []struct {
		name     string
		platform string
		nodes    *fakeNodes
		want     string
		env      string
	}{
		{name: "from the nodes", nodes: &fakeNodes{platforms: []string{"linux/amd64"}}, want: "amd64", env: "T=linux/amd64,O=linux,B=linux/amd64"},
		{name: "a foreign target", platform: "linux/arm64", nodes: &fakeNodes{platforms: []string{"linux/amd64"}}, want: "arm64", env: "T=linux/arm64,O=linux,B=linux/amd64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := setup(t)
			e.Nodes = tt.nodes
			spec := specFor(files)
			spec.Platform = tt.platform
			res, err := buildWith(e, spec)
			if err != nil {
				t.Fatal(err)
			}
			img := pulled(t, e, clusterRegistry+"/app@"+res.Digest)
			fs, _ := imagefs.Files(img)
			other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[tt.want]
			if _, ok := fs["/opt/app/main"]; !ok || fs["/opt/app/"+tt.want] != (imagefs.File{}) || fs["/opt/app/"+other] != (imagefs.File{}) {
				t.Errorf("COPY bin/${TARGETARCH} copied: %v", keysUnder(fs, "/opt/app"))
			}
			cfg, _ := img.ConfigFile()
			if got := strings.Join(cfg.Config.Env[len(cfg.Config.Env)-3:], ","); got != tt.env {
				t.Errorf("env = %s, want %s", got, tt.env)
			}
		})
	}
	// Without a platform to go by, the Dockerfile's TARGETARCH cannot be
	// known: the plan says so before anything is built.
	e, _, _ := setup(t)
	e.Nodes = &fakeNodes{err: errors.New("forbidden")}
	if _, err := e.Plan(context.Background(), specFor(files)); reasonOf(err) != build.ReasonPlatform || !strings.Contains(err.Error(), "ARG TARGETARCH") {
		t.Errorf("plan err = %v, want the platform unknown, naming ARG TARGETARCH", err)
	}
	// A build argument given with the build overrides the predefined one.
	spec := specFor(files)
	spec.BuildArgs = map[string]string{"TARGETARCH": "arm64", "TARGETPLATFORM": "x", "TARGETOS": "y", "BUILDPLATFORM": "z"}
	if _, err := e.Plan(context.Background(), spec); err != nil {
		t.Errorf("given platform arguments need no platform: %v", err)
	}
}

func keysUnder(fs map[string]imagefs.File, dir string) []string {
	var out []string
	for p := range fs {
		if strings.HasPrefix(p, dir) {
			out = append(out, p)
		}
	}
	return out
}

// TestKanikoSemantics pins what Kaniko does where a direct build once
// differed: ENV pairs, absolute sources, --chmod's special bits, the
// escape directive, FROM --platform, sources outside the context.
func TestKanikoSemantics(t *testing.T) {
	base := "FROM " + clusterRegistry + "/base:1\n"
	env := func(t *testing.T, img v1.Image, key string) string {
		cfg, _ := img.ConfigFile()
		for _, kv := range cfg.Config.Env {
			if k, v, _ := strings.Cut(kv, "="); k == key {
				return v
			}
		}
		return "(unset)"
	}
	t.Run("ENV pairs expand against the environment before the instruction", func(t *testing.T) {
		e, _, _ := setup(t)
		res, err := buildWith(e, specFor(map[string]string{"Dockerfile": base + "ENV abc=hello\nENV abc=bye def=$abc\n"}))
		if err != nil {
			t.Fatal(err)
		}
		img := pulled(t, e, clusterRegistry+"/app@"+res.Digest)
		if env(t, img, "abc") != "bye" || env(t, img, "def") != "hello" {
			t.Errorf("abc=%s def=%s, want bye and hello", env(t, img, "abc"), env(t, img, "def"))
		}
	})
	t.Run("absolute sources are relative to the context root", func(t *testing.T) {
		e, _, _ := setup(t)
		res, err := buildWith(e, specFor(map[string]string{"Dockerfile": base + "COPY /conf/*.yaml /etc/app/\nCOPY /main /opt/main\n", "conf/a.yaml": "a", "conf/b.json": "b", "main": "m"}))
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := imagefs.Files(pulled(t, e, clusterRegistry+"/app@"+res.Digest))
		if fs["/etc/app/a.yaml"].Type != "file" || fs["/etc/app/b.json"].Type != "" || fs["/opt/main"].Type != "file" {
			t.Errorf("files: %v", keysUnder(fs, "/etc/app"))
		}
	})
	t.Run("--chmod keeps only the permission bits", func(t *testing.T) {
		e, _, _ := setup(t)
		res, err := buildWith(e, specFor(map[string]string{"Dockerfile": base + "COPY --chmod=4755 main /usr/local/bin/main\nCOPY --chmod=1777 d /srv/d\n", "main": "m", "d/x": "x"}))
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := imagefs.Files(pulled(t, e, clusterRegistry+"/app@"+res.Digest))
		if fs["/usr/local/bin/main"].Mode != 0o755 || fs["/srv/d/x"].Mode != 0o777 {
			t.Errorf("modes %o and %o, want 0755 and 0777", fs["/usr/local/bin/main"].Mode, fs["/srv/d/x"].Mode)
		}
	})
	t.Run("words expand with the default escape token", func(t *testing.T) {
		e, _, _ := setup(t)
		res, err := buildWith(e, specFor(map[string]string{"Dockerfile": "# escape=`\n" + base + "ENV P=C:\\\\app W=a`b\n"}))
		if err != nil {
			t.Fatal(err)
		}
		img := pulled(t, e, clusterRegistry+"/app@"+res.Digest)
		if got := env(t, img, "P") + " " + env(t, img, "W"); got != `C:\app a`+"`b" {
			t.Errorf("P W = %s", got)
		}
	})
	t.Run("a wildcard that matches nothing copies nothing", func(t *testing.T) {
		e, _, _ := setup(t)
		if _, err := buildWith(e, specFor(map[string]string{"Dockerfile": base + "COPY nothing/* /opt/\nCOPY /none/*.yaml /etc/\n"})); err != nil {
			t.Errorf("Kaniko builds this; the direct build failed: %v", err)
		}
	})
	t.Run("several sources into . (a directory as Kaniko's process sees it)", func(t *testing.T) {
		e, _, _ := setup(t)
		res, err := buildWith(e, specFor(map[string]string{"Dockerfile": base + "WORKDIR /w\nCOPY a b .\n", "a": "a", "b": "b"}))
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := imagefs.Files(pulled(t, e, clusterRegistry+"/app@"+res.Digest))
		if fs["/w/a"].Type != "file" || fs["/w/b"].Type != "file" {
			t.Errorf("files: %v", keysUnder(fs, "/w"))
		}
	})
	t.Run("a directory copied onto a file fails as in Kaniko", func(t *testing.T) {
		e, _, _ := setup(t)
		_, err := buildWith(e, specFor(map[string]string{"Dockerfile": base + "COPY f /srv\nCOPY d/ /srv\n", "f": "f", "d/x": "x"}))
		if reasonOf(err) != build.ReasonDockerfile || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("err = %v, want Kaniko's not a directory", err)
		}
	})
	for name, tt := range map[string]struct {
		dockerfile string
		reason     build.FailureReason
	}{
		"FROM --platform is not performed": {"FROM --platform=linux/arm64 " + clusterRegistry + "/base:1\nCOPY a /a\n", build.ReasonNotEligible},
		"a source leaving the context":     {base + "COPY ../.docker/config.json /x\n", build.ReasonDockerfile},
		"a source leaving through an ARG":  {base + "ARG D=../..\nCOPY $D/etc/passwd /x\n", build.ReasonDockerfile},
	} {
		t.Run(name, func(t *testing.T) {
			e, _, _ := setup(t)
			spec := specFor(map[string]string{"Dockerfile": tt.dockerfile, "a": "x"})
			if _, err := e.Plan(context.Background(), spec); reasonOf(err) != tt.reason {
				t.Errorf("plan err = %v, want %s", err, tt.reason)
			}
			if _, err := buildWith(e, spec); reasonOf(err) != tt.reason {
				t.Errorf("build err = %v, want %s", err, tt.reason)
			}
		})
	}
}

// TestMultiPlatformIndex: platforms makes one image per platform on the
// base's image for it, with the platform's ARGs, and an OCI index of
// them; identical COPY inputs give one blob; the same inputs give the
// same index digest.
func TestMultiPlatformIndex(t *testing.T) {
	e, counter, host := setup(t)
	pushMultiPlatformBase(t, host)
	files := map[string]string{
		"Dockerfile":     "FROM " + clusterRegistry + "/multi:1\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/main /app/main\nCOPY conf.yaml /etc/app/\n",
		"bin/amd64/main": "amd64 binary", "bin/arm64/main": "arm64 binary", "conf.yaml": "shared",
	}
	spec := specFor(files)
	spec.Platforms = []string{"linux/arm64", "linux/amd64"}
	if _, err := e.Plan(context.Background(), spec); err != nil {
		t.Fatalf("plan: %v", err)
	}
	counter.reset()
	res, err := buildWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.PlatformDigests) != 2 || res.PlatformSizes["linux/amd64"] == 0 {
		t.Fatalf("platform digests %v, sizes %v", res.PlatformDigests, res.PlatformSizes)
	}
	ref, _ := name.ParseReference(host+"/app:latest", name.Insecure)
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != types.OCIImageIndex || desc.Digest.String() != res.Digest {
		t.Fatalf("latest is %s %s, want the OCI index %s", desc.MediaType, desc.Digest, res.Digest)
	}
	idx, _ := desc.ImageIndex()
	m, _ := idx.IndexManifest()
	if len(m.Manifests) != 2 {
		t.Fatalf("%d manifests in the index", len(m.Manifests))
	}
	var conf []string
	for _, d := range m.Manifests {
		arch := d.Platform.Architecture
		if res.PlatformDigests["linux/"+arch] != d.Digest.String() {
			t.Errorf("%s: index lists %s, result says %s", arch, d.Digest, res.PlatformDigests["linux/"+arch])
		}
		img, _ := idx.Image(d.Digest)
		cfg, _ := img.ConfigFile()
		if cfg.OS != "linux" || cfg.Architecture != arch {
			t.Errorf("%s image's config says %s/%s", arch, cfg.OS, cfg.Architecture)
		}
		fs, _ := imagefs.Files(img)
		if _, ok := fs["/arch-"+arch]; !ok {
			t.Errorf("%s image not built on the %s base", arch, arch)
		}
		if fs["/app/main"].SHA256 == "" {
			t.Errorf("%s image has no /app/main", arch)
		}
		layers, _ := img.Layers()
		d, _ := layers[len(layers)-1].Digest()
		conf = append(conf, d.String())
	}
	if fs0, fs1 := m.Manifests[0], m.Manifests[1]; fs0.Digest == fs1.Digest {
		t.Error("the two platforms' images are the same")
	}
	if conf[0] != conf[1] {
		t.Errorf("the COPY of one file gave two layers: %v", conf)
	}
	if up, _ := counter.transfers(conf[0]); up != 1 {
		t.Errorf("the shared layer was uploaded %d times, want once", up)
	}
	again, err := buildWith(e, spec)
	if err != nil || again.Digest != res.Digest {
		t.Errorf("a second build gave %s (%v), want %s", again.Digest, err, res.Digest)
	}

	lacking := specFor(files)
	lacking.Platforms = []string{"linux/amd64", "linux/s390x"}
	if _, err := e.Plan(context.Background(), lacking); reasonOf(err) != build.ReasonBaseImage || !strings.Contains(err.Error(), "no image for linux/s390x") {
		t.Errorf("plan err = %v, want the platform the base lacks named", err)
	}
}
