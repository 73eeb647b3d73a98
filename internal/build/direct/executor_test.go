package direct

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

const clusterRegistry = "registry.kube-system.svc.cluster.local:5000"

// countingRegistry records which blobs were uploaded and downloaded.
type countingRegistry struct {
	mu         sync.Mutex
	uploaded   map[string]int
	downloaded map[string]int
	next       http.Handler
}

func (c *countingRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	switch {
	case r.Method == http.MethodPut && r.URL.Query().Get("digest") != "":
		c.uploaded[r.URL.Query().Get("digest")]++
	case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:"):
		c.downloaded[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]++
	}
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

// reset forgets what happened so far.
func (c *countingRegistry) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uploaded, c.downloaded = map[string]int{}, map[string]int{}
}

func (c *countingRegistry) transfers(digest string) (uploads, downloads int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uploaded[digest], c.downloaded[digest]
}

// tarLayer makes a layer from entries; files hold "content of <name>".
func tarLayer(t *testing.T, hdrs ...*tar.Header) v1.Layer {
	return imagefstest.Layer(t, imagefstest.Headers(hdrs...)...)
}

// setup starts a registry holding a small base image at
// <cluster registry>/base:1 and returns an executor that reaches it.
func setup(t *testing.T) (*Executor, *countingRegistry, string) {
	t.Helper()
	counter := &countingRegistry{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	counter.reset()
	srv := httptest.NewServer(counter)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	base := tarLayer(t,
		&tar.Header{Typeflag: tar.TypeDir, Name: "usr/", Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeDir, Name: "usr/local/", Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeDir, Name: "usr/local/bin/", Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin", Linkname: "usr/bin", Mode: 0o777},
		&tar.Header{Typeflag: tar.TypeDir, Name: "usr/bin/", Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeReg, Name: "etc/os-release", Mode: 0o644},
	)
	img, err := mutate.AppendLayers(empty.Image, base)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.Config.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	cfg.Config.Cmd = []string{"/bin/sh"}
	cfg.Config.Labels = map[string]string{"base": "yes"}
	img, _ = mutate.ConfigFile(img, cfg)
	ref, _ := name.ParseReference(u.Host+"/base:1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	reg := &registry.Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}}
	counter.reset()
	return &Executor{Registry: reg, IndexCacheDir: t.TempDir()}, counter, u.Host
}

// baseLayer is the digest of the base image's only layer.
func baseLayer(t *testing.T, host string) string {
	t.Helper()
	ref, _ := name.ParseReference(host+"/base:1", name.Insecure)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	return d.String()
}

func specFor(files map[string]string) build.Spec {
	return build.Spec{
		Namespace: "builds", Repository: clusterRegistry + "/app", Tags: []string{"latest", "v1"},
		Context: build.Context{Source: &buildcontext.Source{Files: files}},
		Created: time.Unix(0, 0),
	}
}

// buildWith builds spec with e as the engine does: its context archived
// once first.
func buildWith(e *Executor, spec build.Spec) (*build.Result, error) {
	return build.SnapshotContext{Next: e}.Build(context.Background(), spec)
}

func pulled(t *testing.T, e *Executor, ref string) v1.Image {
	t.Helper()
	r, err := e.Registry.Reference(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestDirectBuildOfTheStudyShape(t *testing.T) {
	e, counter, host := setup(t)
	files := map[string]string{
		"Dockerfile": "ARG BASE=" + clusterRegistry + "/base:1\nFROM $BASE\nARG VERSION=dev\nENV APP_VERSION=$VERSION\n" +
			"LABEL org.example.version=$VERSION\nWORKDIR /usr/local/app\nCOPY main ./main\nCOPY conf/ /etc/app/\n" +
			"USER 1000\nCOPY --chmod=0700 main /home/app/run\nEXPOSE 8081\nVOLUME /data\nSTOPSIGNAL SIGTERM\n" +
			"ENTRYPOINT [\"/usr/local/app/main\"]\n",
		"main":          "#!binary v1",
		"conf/app.yaml": "port: 8081\n",
	}
	spec := specFor(files)
	spec.BuildArgs = map[string]string{"VERSION": "1.2.3"}
	spec.Labels = map[string]string{"dev.onesbuild.context-sha256": "x"}
	res, err := buildWith(e, spec)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if res.Executor != build.ExecutorDirect || res.BaseImageDigest == "" || res.ContextSHA256 == "" {
		t.Errorf("result = %+v", res)
	}
	// The base's layer is referenced, never uploaded; it is read once
	// for its file index, then never again.
	bl := baseLayer(t, host)
	// (0 downloads when another test of this process indexed the same
	// base already: the index is kept in memory.)
	if up, down := counter.transfers(bl); up != 0 || down > 1 {
		t.Errorf("base layer uploaded %d times and downloaded %d times in the first build; want 0 and at most 1 (the file index)", up, down)
	}

	img := pulled(t, e, clusterRegistry+"/app:v1")
	if d, _ := img.Digest(); d.String() != res.Digest {
		t.Fatalf("v1 = %s, result %s", d, res.Digest)
	}
	cfg, _ := img.ConfigFile()
	c := cfg.Config
	if strings.Join(c.Env, ",") != "PATH=/usr/bin:/bin,LANG=C,APP_VERSION=1.2.3" || c.WorkingDir != "/usr/local/app" || c.User != "1000" ||
		c.Labels["org.example.version"] != "1.2.3" || c.Labels["base"] != "yes" || c.Labels["dev.onesbuild.context-sha256"] != "x" ||
		strings.Join(c.Entrypoint, " ") != "/usr/local/app/main" || len(c.Cmd) != 0 || c.StopSignal != "SIGTERM" {
		t.Errorf("config = %+v", c)
	}
	if _, ok := c.ExposedPorts["8081/tcp"]; !ok {
		t.Errorf("exposed = %v", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes = %v", c.Volumes)
	}
	if !cfg.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("created = %v, want the fixed time", cfg.Created)
	}
	fs, err := imagefs.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/usr/local/app":      "dir 0755 0:0",
		"/usr/local/app/main": "file 0644 0:0",
		"/etc/app":            "dir 0755 0:0",
		"/etc/app/app.yaml":   "file 0644 0:0",
		"/home":               "dir 0755 1000:1000",
		"/home/app":           "dir 0755 1000:1000",
		"/home/app/run":       "file 0700 1000:1000",
		"/tmp":                "dir 1777 0:0",
		"/bin":                "symlink 0777 0:0",
	}
	for p, w := range want {
		got := fs[p].String()
		if !strings.HasPrefix(got, w) {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	if _, ok := fs["/data"]; ok {
		t.Error("VOLUME created /data in a layer; Kaniko does not")
	}

	// The same inputs give the same digest.
	counter.reset()
	again, err := buildWith(e, spec)
	if err != nil || again.Digest != res.Digest {
		t.Fatalf("rebuild gave %s (%v), want %s", again.Digest, err, res.Digest)
	}
	if up, down := counter.transfers(bl); up != 0 || down != 0 {
		t.Errorf("base layer uploaded %d and downloaded %d times in a rebuild; want neither", up, down)
	}
	// A changed binary gives another.
	files["main"] = "#!binary v2"
	changed, err := buildWith(e, specFor(files))
	if err != nil || changed.Digest == res.Digest {
		t.Fatalf("changed context gave %s (%v)", changed.Digest, err)
	}
}

func TestDirectBuildCopySemantics(t *testing.T) {
	e, _, _ := setup(t)
	files := map[string]string{
		"Dockerfile": "FROM " + clusterRegistry + "/base:1\n" +
			"COPY dir /opt/one\nCOPY dir/ /opt/two/\nCOPY *.txt /texts/\nCOPY --chown=10:20 a.txt /usr/local/bin\n" +
			"WORKDIR rel\nCOPY a.txt .\nCOPY a.txt /bin/\n",
		"dir/x":       "x",
		"dir/sub/y":   "y",
		"a.txt":       "a",
		"b.txt":       "b",
		"other/c.txt": "c",
	}
	res, err := buildWith(e, specFor(files))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := imagefs.Files(pulled(t, e, clusterRegistry+"/app@"+res.Digest))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/opt/one/x", "/opt/one/sub/y", "/opt/two/x", "/opt/two/sub/y", "/texts/a.txt", "/texts/b.txt", "/rel/a.txt", "/usr/bin/a.txt"} {
		if fs[p].Type != "file" {
			t.Errorf("%s missing: %v", p, fs[p])
		}
	}
	if _, ok := fs["/texts/c.txt"]; ok {
		t.Error("*.txt matched a file in a subdirectory")
	}
	if f := fs["/usr/local/bin/a.txt"]; f.UID != 10 || f.GID != 20 {
		t.Errorf("--chown: %v", f)
	}
	if f := fs["/bin"]; f.Type != "symlink" {
		t.Errorf("COPY into /bin/ replaced the symlink: %v", f)
	}
}

func TestDirectBuildDoesNotCopyWhatOnlyTheBuilderNeeds(t *testing.T) {
	e, _, _ := setup(t)
	// The Dockerfile and the ignore file are sent, since the builder
	// reads them, but the ignore file excludes them, so COPY leaves them
	// out, as Kaniko does.
	for _, tt := range []struct {
		name       string
		dockerfile string
		ignore     string
	}{
		{"excluded by name", "Dockerfile", "Dockerfile\n.dockerignore\nbuild/\n"},
		// No empty build/ either: Kaniko skips the excluded directory.
		{"in an excluded directory", "build/Dockerfile", "build/\n.dockerignore\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := specFor(map[string]string{
				tt.dockerfile:   "FROM " + clusterRegistry + "/base:1\nCOPY . /app/\n",
				".dockerignore": tt.ignore,
				"main":          "m",
				"build/out":     "o",
			})
			spec.Context.Source.DockerfilePath = tt.dockerfile
			res, err := buildWith(e, spec)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := imagefs.Files(pulled(t, e, clusterRegistry+"/app@"+res.Digest))
			if err != nil {
				t.Fatal(err)
			}
			if fs["/app/main"].Type != "file" {
				t.Errorf("/app/main missing: %v", fs["/app/main"])
			}
			for _, p := range []string{"/app/Dockerfile", "/app/.dockerignore", "/app/build", "/app/build/out", "/app/build/Dockerfile"} {
				if f, ok := fs[p]; ok {
					t.Errorf("%s is in the image (%v); the ignore file excludes it", p, f)
				}
			}
		})
	}
}

func TestDirectBuildDoesNotCopyTheInlineDockerfile(t *testing.T) {
	e, _, _ := setup(t)
	spec := specFor(map[string]string{"main": "m", ".dockerignore": "*.log\n", "debug.log": "noise"})
	spec.Context.Source.DockerfileInline = "FROM " + clusterRegistry + "/base:1\nCOPY . /app/\n"
	res, err := buildWith(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := imagefs.Files(pulled(t, e, clusterRegistry+"/app@"+res.Digest))
	if err != nil {
		t.Fatal(err)
	}
	if fs["/app/main"].Type != "file" || fs["/app/.dockerignore"].Type != "file" {
		t.Errorf("/app/main = %v, /app/.dockerignore = %v; want both copied", fs["/app/main"], fs["/app/.dockerignore"])
	}
	for _, p := range []string{"/app/" + buildcontext.InlineDockerfileName, "/app/" + buildcontext.InlineDockerfileName + ".dockerignore", "/app/debug.log"} {
		if f, ok := fs[p]; ok {
			t.Errorf("%s is in the image (%v)", p, f)
		}
	}
}

func TestNotEligible(t *testing.T) {
	tests := map[string]struct {
		dockerfile string
		want       string
		line       int
	}{
		"RUN":             {"FROM b\nCOPY a /a\nRUN make\n", "RUN", 3},
		"ADD":             {"FROM b\nADD a.tar.gz /\n", "ADD", 2},
		"COPY --from":     {"FROM b\nCOPY --from=builder /x /x\n", "COPY", 2},
		"two stages":      {"FROM b AS one\nFROM one\n", "FROM", 2},
		"chown by name":   {"FROM b\nCOPY --chown=node:node a /a\n", "COPY", 2},
		"HEALTHCHECK":     {"FROM b\nHEALTHCHECK CMD true\n", "HEALTHCHECK", 2},
		"FROM scratch":    {"FROM scratch\nCOPY a /a\n", "FROM", 1},
		"ONBUILD":         {"FROM b\nONBUILD RUN x\n", "ONBUILD", 2},
		"unknown command": {"FROM b\nFROBNICATE\n", "FROBNICATE", 2},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Analyze([]byte(tt.dockerfile), nil, "")
			var ne *NotEligibleError
			if !errors.As(err, &ne) {
				t.Fatalf("err = %v, want NotEligibleError", err)
			}
			if ne.Instruction != tt.want || ne.Line != tt.line {
				t.Errorf("got %s on line %d (%v), want %s on line %d", ne.Instruction, ne.Line, err, tt.want, tt.line)
			}
		})
	}
	if _, err := Analyze([]byte("ARG V=1\nFROM b:$V\nARG X\nENV A=b\nLABEL a=b\nWORKDIR /w\nCOPY --chown=1:2 --chmod=644 a b\nUSER 1\nEXPOSE 80/udp\nVOLUME /v\nENTRYPOINT x\nCMD y\nSTOPSIGNAL 9\nSHELL [\"/bin/bash\", \"-c\"]\n"), nil, ""); err != nil {
		t.Errorf("an eligible Dockerfile was refused: %v", err)
	}
}

func TestNamedUserOfTheBaseIsNotEligible(t *testing.T) {
	e, _, host := setup(t)
	ref, _ := name.ParseReference(host+"/base:1", name.Insecure)
	base, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := base.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.Config.User = "node"
	named, _ := mutate.ConfigFile(base, cfg)
	namedRef, _ := name.ParseReference(host+"/base:named", name.Insecure)
	if err := remote.Write(namedRef, named); err != nil {
		t.Fatal(err)
	}
	_, err = buildWith(e, specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/base:named\nCOPY a /a\n", "a": "x"}))
	var f *build.Failure
	if !errors.As(err, &f) || f.Reason != build.ReasonNotEligible || !strings.Contains(err.Error(), "node") {
		t.Fatalf("err = %v, want not eligible because of USER node", err)
	}
}

func TestDirectBuildPicksThePlatformOfAMultiPlatformBase(t *testing.T) {
	e, _, host := setup(t)
	pushMultiPlatformBase(t, host)
	for _, arch := range []string{"arm64", "amd64"} {
		spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/multi:1\nCOPY a /a\n", "a": "x"})
		spec.Platform = "linux/" + arch
		res, err := buildWith(e, spec)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		fs, err := imagefs.Files(pulled(t, e, clusterRegistry+"/app@"+res.Digest))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fs["/arch-"+arch]; !ok {
			t.Errorf("platform %s built on the wrong base: %v", arch, fs)
		}
	}
	spec := specFor(map[string]string{"Dockerfile": "FROM " + clusterRegistry + "/multi:1\nCOPY a /a\n", "a": "x"})
	spec.Platform = "linux/s390x"
	if _, err := buildWith(e, spec); err == nil || !strings.Contains(err.Error(), "no image for platform linux/s390x") {
		t.Errorf("a platform the base lacks: %v", err)
	}
}
