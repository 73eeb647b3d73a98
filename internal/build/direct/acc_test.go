package direct_test

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/testcluster"
)

// differentialCase is a Dockerfile and its context, built both ways.
type differentialCase struct {
	name       string
	dockerfile string
	files      map[string]string
	// modes and links of context entries, by path.
	modes     map[string]os.FileMode
	links     map[string]string
	buildArgs map[string]string
}

// annotatedBase in a case's Dockerfile stands for a copy of the base
// image whose manifest carries annotations.
const annotatedBase = "ANNOTATED_BASE"

func differentialCases(base string) []differentialCase {
	baseRepo, baseTag, _ := strings.Cut(base, ":v")
	return []differentialCase{
		{
			name:       "the study's Dockerfile",
			dockerfile: "FROM " + base + "\nWORKDIR /usr/local/app\nCOPY main /usr/local/app/main\nENTRYPOINT [\"/usr/local/app/main\"]\n",
			files:      map[string]string{"main": "#!/bin/sh\necho Hello World\n"},
			modes:      map[string]os.FileMode{"main": 0o755},
		},
		{
			name: "ENV, LABEL, USER, EXPOSE, VOLUME and the rest of the config",
			dockerfile: "FROM " + base + "\nENV A=1 B=\"two words\"\nENV PATH=/opt/bin:$PATH\nLABEL team=ones version=\"$A\"\n" +
				"EXPOSE 8081 9090/udp\nVOLUME [\"/data\", \"/cache\"]\nSTOPSIGNAL SIGINT\nSHELL [\"/bin/sh\", \"-ec\"]\n" +
				"CMD echo $A\nUSER 1000:1000\n",
		},
		{
			name:       "a directory copied to a destination without a trailing slash",
			dockerfile: "FROM " + base + "\nCOPY static /srv/static\nCOPY static /usr/share\n",
			files:      map[string]string{"static/index.html": "<h1>hi</h1>", "static/css/site.css": "body{}", "static/empty/.keep": ""},
			modes:      map[string]os.FileMode{"static/css": 0o750},
		},
		{
			name:       "a directory copied to a destination with a trailing slash",
			dockerfile: "FROM " + base + "\nCOPY static/ /srv/static/\nCOPY static/css /srv/new/\n",
			files:      map[string]string{"static/index.html": "<h1>hi</h1>", "static/css/site.css": "body{}"},
		},
		{
			name:       "wildcards",
			dockerfile: "FROM " + base + "\nCOPY *.txt /texts/\nCOPY conf/*.yaml /etc/app/\nCOPY m?in /usr/local/bin/\n",
			files:      map[string]string{"a.txt": "a", "b.txt": "b", "sub/c.txt": "c", "conf/app.yaml": "x: 1", "conf/extra.json": "{}", "main": "bin"},
		},
		{
			name: "--chown and --chmod",
			dockerfile: "FROM " + base + "\nCOPY --chown=1000:1000 main /home/app/main\nCOPY --chmod=0755 run.sh /usr/local/bin/run\n" +
				"COPY --chown=5 static /opt/static\nCOPY --chown=7:8 --chmod=600 static/ /opt/private/\n",
			files: map[string]string{"main": "bin", "run.sh": "#!/bin/sh\n", "static/a": "a", "static/d/b": "b"},
		},
		{
			name:       ".dockerignore and symlinks",
			dockerfile: "FROM " + base + "\nCOPY . /app/\nCOPY link /linked\n",
			files:      map[string]string{".dockerignore": "*.log\ntmp/\n", "keep.txt": "k", "debug.log": "no", "tmp/scratch": "no", "lib/real.so": "so"},
			links:      map[string]string{"link": "keep.txt", "lib/current.so": "real.so"},
		},
		{
			name:       "a relative WORKDIR",
			dockerfile: "FROM " + base + "\nWORKDIR app\nWORKDIR sub/dir\nCOPY main .\nCOPY main ../up\nUSER 1000\nWORKDIR /owned/by/user\nCOPY main ./\n",
			files:      map[string]string{"main": "bin"},
		},
		{
			name:       "the base manifest's annotations",
			dockerfile: "FROM " + annotatedBase + "\nCOPY main /main\n",
			files:      map[string]string{"main": "m"},
		},
		{
			name:       "an ignored Dockerfile and .dockerignore are sent, not copied",
			dockerfile: "FROM " + base + "\nCOPY . /app/\n",
			files:      map[string]string{".dockerignore": "Dockerfile\n.dockerignore\n*.log\n", "main": "m", "debug.log": "no"},
		},
		{
			name:       "Dockerfile.dockerignore before .dockerignore",
			dockerfile: "FROM " + base + "\nCOPY . /app/\n",
			files: map[string]string{".dockerignore": "*.txt\n", "Dockerfile.dockerignore": "secret.env\nDockerfile*\n",
				"secret.env": "TOKEN=x", "notes.txt": "kept: .dockerignore is not read", "main": "m"},
		},
		{
			// Found by the generated cases (seed 15256097049094754572,
			// case 2): Kaniko skips an excluded directory whose files are
			// re-included, so a --chown COPY leaves it as it was.
			name: "an excluded directory with re-included files keeps its owner",
			dockerfile: "FROM " + base + "\nCOPY . /etc/app/\nCOPY --chown=1000:2000 . data/ /etc/app/\n" +
				"COPY --chown=1000:2000 data/ /srv/new/\n",
			files: map[string]string{".dockerignore": "data/\ndata/**\n!data/*.yaml\n", "data/deep.yaml": "d", "data/skip.log": "s", "app/a.so": "a"},
		},
		{
			name:       "ENV pairs expand against the environment before the instruction",
			dockerfile: "FROM " + base + "\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\nARG TARGETSTAGE\nENV stage=$TARGETSTAGE\n",
		},
		{
			name:       "absolute sources are relative to the context root",
			dockerfile: "FROM " + base + "\nCOPY /conf/*.yaml /etc/app/\nCOPY /main /opt/main\n",
			files:      map[string]string{"conf/a.yaml": "a", "conf/b.json": "b", "main": "m"},
		},
		{
			name:       "--chmod with special bits",
			dockerfile: "FROM " + base + "\nCOPY --chmod=4755 main /usr/local/bin/main\nCOPY --chmod=1777 d /srv/d\n",
			files:      map[string]string{"main": "m", "d/x": "x"},
		},
		{
			name:       "the escape directive",
			dockerfile: "# escape=`\nFROM " + base + "\nENV P=C:\\\\app W=a`b\nLABEL path=\"C:\\\\data\"\n",
		},
		{
			name:       "the predefined platform arguments",
			dockerfile: "FROM " + base + " AS Final\nARG TARGETARCH\nARG TARGETPLATFORM\nARG TARGETOS\nARG TARGETSTAGE\nARG BUILDARCH\nCOPY bin/${TARGETARCH} /opt/app/\nENV T=$TARGETPLATFORM O=$TARGETOS S=$TARGETSTAGE B=$BUILDARCH\n",
			files:      map[string]string{"bin/amd64/main": "amd64", "bin/arm64/main": "arm64"},
		},
		{
			name:       "paths under the base's symlinks",
			dockerfile: "FROM " + base + "\nCOPY main /bin/main\nCOPY lib/ /lib/app/\nWORKDIR /sbin/tools\nCOPY main ./\n",
			files:      map[string]string{"main": "m", "lib/a.so": "so"},
		},
		{
			name:       "build args in FROM and COPY",
			dockerfile: "ARG BASE_REPO\nARG BASE_TAG=latest\nFROM ${BASE_REPO}:v${BASE_TAG}\nARG SRC=main\nARG DEST=/opt/app\nCOPY ${SRC} $DEST/\nENV BUILT_FROM=$SRC\n",
			files:      map[string]string{"main": "bin", "alt": "alternative"},
			buildArgs:  map[string]string{"BASE_REPO": baseRepo, "BASE_TAG": baseTag, "SRC": "alt"},
		},
	}
}

func writeCase(t *testing.T, c differentialCase) string {
	t.Helper()
	dir := t.TempDir()
	write := func(p, content string, mode os.FileMode) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", c.dockerfile, 0o644)
	for p := range c.modes {
		// A directory of the case that holds no file is made empty.
		if full := filepath.Join(dir, filepath.FromSlash(p)); !exists(full) && c.files[p] == "" {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for p, content := range c.files {
		write(p, content, 0o644)
	}
	for p, target := range c.links {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	for p, mode := range c.modes {
		if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(p)), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

type accEnv struct {
	env    *testcluster.Env
	kaniko *kaniko.Executor
	direct *direct.Executor
	reg    *registry.Client
}

func newAccEnv(t *testing.T) *accEnv {
	t.Helper()
	a := testcluster.RequireAcceptance(t)
	return &accEnv{
		env:    a.Env,
		kaniko: &kaniko.Executor{Client: a.Client, Attacher: &kube.PodAttacher{Config: a.Config, Client: a.Client}},
		direct: &direct.Executor{Registry: a.Registry, IndexCacheDir: t.TempDir(), Nodes: kube.Nodes{Client: a.Client}},
		reg:    a.Registry,
	}
}

// TestAccDirect_matchesKaniko builds each case with Kaniko in the cluster
// and directly, and requires the same files (path, type, mode, owner,
// content, link target) and the same configuration.
func TestAccDirect_matchesKaniko(t *testing.T) {
	a := newAccEnv(t)
	for i, c := range differentialCases(a.env.BaseImage) {
		t.Run(c.name, func(t *testing.T) {
			out := a.buildBoth(t, c, fmt.Sprintf("differential-%d", i))
			if out.kanikoErr != nil {
				t.Fatalf("Kaniko: %v\n%s", out.kanikoErr, strings.Join(out.kaniko.LogTail, "\n"))
			}
			if out.directErr != nil {
				t.Fatalf("direct: %v", out.directErr)
			}
			if len(out.leaked) > 0 {
				t.Errorf("Kaniko's image holds %d paths of its own container (%s, ...): this case should not copy nothing", len(out.leaked), out.leaked[0])
			}
			if len(out.truncated) > 0 {
				t.Errorf("Kaniko's image lacks %v beside the symlink loops %v: this case should not copy a link through a link", out.truncated, out.loops)
			}
			for _, d := range out.diffs {
				t.Errorf("differs at %s\n    kaniko: %s\n    direct: %s", d.What, d.A, d.B)
			}
		})
	}
}

// TestAccDirect_kanikoCutsLayerAtSymlinkLoop holds the README's account
// of Kaniko's symlink-loop defect, which the differential tests tolerate:
// a wildcard that copies a directory's link twice makes its target a
// link to itself in both images; Kaniko's layer then lacks the files
// after the loop, the direct build's has them. When Kaniko is fixed, this
// test fails and the tolerance goes.
func TestAccDirect_kanikoCutsLayerAtSymlinkLoop(t *testing.T) {
	a := newAccEnv(t)
	c := differentialCase{
		name:       "a link copied twice",
		dockerfile: "FROM " + a.env.BaseImage + "\nCOPY b/* b/* /app/\n",
		files:      map[string]string{"b/app.sh": "a", "b/data": "d", "b/data.tmp": "t", "b/static.log": "s"},
		links:      map[string]string{"b/link": "data"},
	}
	out := a.buildBoth(t, c, "symlink-loop")
	if out.kanikoErr != nil || out.directErr != nil {
		t.Fatalf("kaniko: %v; direct: %v", out.kanikoErr, out.directErr)
	}
	if fmt.Sprint(out.loops) != "[/app/data]" {
		t.Errorf("symlink loops in the direct image: %v, want [/app/data]", out.loops)
	}
	if fmt.Sprint(out.truncated) != "[/app/data.tmp /app/link /app/static.log]" {
		t.Errorf("paths Kaniko left out: %v, want [/app/data.tmp /app/link /app/static.log]", out.truncated)
	}
	for _, d := range out.diffs {
		t.Errorf("differs at %s\n    kaniko: %s\n    direct: %s", d.What, d.A, d.B)
	}
}

// outcome is one case built both ways.
type outcome struct {
	kaniko, direct       *build.Result
	kanikoErr, directErr error
	diffs                []imagefs.Difference
	// leaked are the paths of Kaniko's own container in Kaniko's image
	// alone (see kanikoLeak).
	leaked []string
	// truncated are paths Kaniko left out of its image while the image
	// holds a symlink loop, loops (see symlinkLoops).
	truncated, loops []string
	paths            int
}

// kanikoLeak tells the paths of Kaniko's own container (its -debug
// image's busybox, its workspace, files the kubelet mounts) that Kaniko
// puts into an image when a COPY copies nothing (a wildcard that matches
// nothing) or copies a directory into "/": it then snapshots its whole
// file system. A defect of Kaniko's that a direct build does not
// reproduce; the README lists it.
func kanikoLeak(d imagefs.Difference) bool {
	if d.B != "(absent)" {
		return false
	}
	switch {
	case d.What == "/busybox" || strings.HasPrefix(d.What, "/busybox/"),
		d.What == "/workspace" || strings.HasPrefix(d.What, "/workspace/"),
		d.What == "/etc/nsswitch.conf", d.What == "/product_uuid", d.What == "/root":
		return true
	}
	return false
}

// symlinkLoops returns the symlinks of files whose resolution comes back
// to a link already followed. Kaniko copies a symlink through a link that
// already exists at the destination (COPY of a link twice makes the link's
// target a link to itself) and, when it then snapshots the layer, stops
// at the loop without an error: the paths after it in its list are not
// in the layer. A direct build copies the same loop and keeps every path;
// the README lists the defect.
func symlinkLoops(files map[string]imagefs.File) []string {
	var loops []string
	for p, f := range files {
		seen := map[string]bool{}
		for f.Type == "symlink" && !seen[p] {
			seen[p] = true
			target := f.Link
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(p), target)
			}
			p, f = path.Clean(target), files[path.Clean(target)]
		}
		if f.Type == "symlink" {
			loops = append(loops, p)
		}
	}
	sort.Strings(loops)
	return slices.Compact(loops)
}

// buildBoth builds a case with Kaniko and directly from one snapshot and
// compares the images when both built.
func (a *accEnv) buildBoth(t *testing.T, c differentialCase, name string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if strings.Contains(c.dockerfile, annotatedBase) {
		c.dockerfile = strings.ReplaceAll(c.dockerfile, annotatedBase, a.pushAnnotatedBase(t, name))
	}
	dir := writeCase(t, c)
	spec := build.Spec{
		Namespace: "default", Tags: []string{"latest"},
		Context:   build.Context{Source: &buildcontext.Source{Dir: dir}},
		BuildArgs: c.buildArgs,
		Labels:    map[string]string{"case": name},
		Created:   time.Unix(0, 0),
		Registry:  build.RegistryAccess{InsecureRegistries: []string{a.env.ClusterRegistry}},
		Pod:       build.PodOptions{Image: a.env.KanikoImage, Deadline: 5 * time.Minute},
	}
	spec, cleanup, err := build.TakeSnapshot(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	ks, ds := spec, spec
	ks.Repository = a.env.ClusterRegistry + "/" + name + "-kaniko"
	ds.Repository = a.env.ClusterRegistry + "/" + name + "-direct"
	var out outcome
	out.kaniko, out.kanikoErr = a.kaniko.Build(ctx, ks)
	out.direct, out.directErr = a.direct.Build(ctx, ds)
	if out.kanikoErr != nil || out.directErr != nil {
		return out
	}
	kimg, err := remote.Image(mustRef(t, a.reg, ks.Repository+"@"+out.kaniko.Digest))
	if err != nil {
		t.Fatal(err)
	}
	dimg, err := remote.Image(mustRef(t, a.reg, ds.Repository+"@"+out.direct.Digest))
	if err != nil {
		t.Fatal(err)
	}
	kfiles, err := imagefs.Files(kimg)
	if err != nil {
		t.Fatal(err)
	}
	dfiles, err := imagefs.Files(dimg)
	if err != nil {
		t.Fatal(err)
	}
	kcfg, _ := kimg.ConfigFile()
	dcfg, _ := dimg.ConfigFile()
	km, _ := kimg.Manifest()
	dm, _ := dimg.Manifest()
	if fmt.Sprint(km.Annotations) != fmt.Sprint(dm.Annotations) {
		out.diffs = append(out.diffs, imagefs.Difference{What: "the manifest's annotations", A: fmt.Sprint(km.Annotations), B: fmt.Sprint(dm.Annotations)})
	}
	loops := symlinkLoops(dfiles)
	for _, d := range imagefs.DiffFiles(kfiles, dfiles) {
		switch {
		case kanikoLeak(d):
			out.leaked = append(out.leaked, d.What)
		case len(loops) > 0 && d.A == "(absent)":
			out.truncated = append(out.truncated, d.What)
		default:
			out.diffs = append(out.diffs, d)
		}
	}
	out.loops = loops
	out.diffs = append(out.diffs, imagefs.DiffConfig(kcfg.Config, dcfg.Config)...)
	out.paths = len(kfiles)
	t.Logf("kaniko %s in %.2fs, direct %s in %.2fs; %d paths compared",
		out.kaniko.Digest[:19], out.kaniko.Timings[build.PhaseTotal].Seconds(), out.direct.Digest[:19], out.direct.Timings[build.PhaseTotal].Seconds(), len(kfiles))
	return out
}

// pushAnnotatedBase copies the base image with annotations on its
// manifest and returns its name as pods see it.
func (a *accEnv) pushAnnotatedBase(t *testing.T, name string) string {
	t.Helper()
	img, err := remote.Image(mustRef(t, a.reg, a.env.BaseImage))
	if err != nil {
		t.Fatal(err)
	}
	annotated := mutate.Annotations(img, map[string]string{
		"org.opencontainers.image.base.name": "debian:bookworm", "org.opencontainers.image.vendor": "ones",
	}).(v1.Image)
	ref := a.env.ClusterRegistry + "/" + name + "-base:1"
	if err := remote.Write(mustRef(t, a.reg, ref), annotated); err != nil {
		t.Fatal(err)
	}
	return ref
}

func mustRef(t *testing.T, reg *registry.Client, ref string) name.Reference {
	t.Helper()
	r, err := reg.Reference(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
