package direct_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
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

type accEnv struct {
	env    *testcluster.Env
	kaniko *kaniko.Executor
	direct *direct.Executor
	reg    *registry.Client
}

func newAccEnv(t *testing.T) *accEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 and bring the cluster up (make testacc does both)")
	}
	env, err := testcluster.LoadEnv(testcluster.New(testcluster.OptionsFromEnv(os.Stderr)).EnvPath())
	if err != nil {
		t.Fatal(err)
	}
	cfg, client, err := kube.ClientsFromKubeconfig(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	reg := &registry.Client{Hosts: map[string]string{env.ClusterRegistry: env.HostRegistry}, Insecure: []string{env.ClusterRegistry}}
	return &accEnv{
		env:    env,
		kaniko: &kaniko.Executor{Client: client, Attacher: &kube.PodAttacher{Config: cfg, Client: client}},
		direct: &direct.Executor{Registry: reg, IndexCacheDir: t.TempDir()},
		reg:    reg,
	}
}

// TestAccDirect_matchesKaniko builds each case with Kaniko in the cluster
// and directly, and requires the same files (path, type, mode, owner,
// content, link target) and the same configuration.
func TestAccDirect_matchesKaniko(t *testing.T) {
	a := newAccEnv(t)
	for i, c := range differentialCases(a.env.BaseImage) {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			dir := writeCase(t, c)
			spec := build.Spec{
				Namespace: "default", Tags: []string{"latest"},
				Source:    &buildcontext.Source{Dir: dir},
				BuildArgs: c.buildArgs,
				Labels:    map[string]string{"case": fmt.Sprint(i)},
				Created:   time.Unix(0, 0),
				Registry:  build.RegistryAccess{InsecureRegistries: []string{a.env.ClusterRegistry}},
				Pod:       build.PodOptions{Image: a.env.KanikoImage, Deadline: 5 * time.Minute},
			}
			spec, cleanup, err := build.TakeSnapshot(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			ks, ds := spec, spec
			ks.Repository = fmt.Sprintf("%s/differential-kaniko-%d", a.env.ClusterRegistry, i)
			ds.Repository = fmt.Sprintf("%s/differential-direct-%d", a.env.ClusterRegistry, i)
			kres, err := a.kaniko.Build(ctx, ks)
			if err != nil {
				t.Fatalf("Kaniko: %v\n%s", err, strings.Join(kres.LogTail, "\n"))
			}
			dres, err := a.direct.Build(ctx, ds)
			if err != nil {
				t.Fatalf("direct: %v", err)
			}
			kimg, err := remote.Image(mustRef(t, a.reg, ks.Repository+"@"+kres.Digest))
			if err != nil {
				t.Fatal(err)
			}
			dimg, err := remote.Image(mustRef(t, a.reg, ds.Repository+"@"+dres.Digest))
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
			diffs := append(imagefs.DiffFiles(kfiles, dfiles), imagefs.DiffConfig(kcfg.Config, dcfg.Config)...)
			for _, d := range diffs {
				t.Errorf("differs at %s\n    kaniko: %s\n    direct: %s", d.What, d.A, d.B)
			}
			t.Logf("kaniko %s in %.2fs, direct %s in %.2fs; %d paths compared",
				kres.Digest[:19], kres.Timings[build.PhaseTotal].Seconds(), dres.Digest[:19], dres.Timings[build.PhaseTotal].Seconds(), len(kfiles))
		})
	}
}

func mustRef(t *testing.T, reg *registry.Client, ref string) name.Reference {
	t.Helper()
	r, err := reg.Reference(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
