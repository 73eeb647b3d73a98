package feasibility

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

func isForbidden(err error) bool { return apierrors.IsForbidden(err) }

func sortStrings(s []string) { sort.Strings(s) }

// copyImage writes the image src under dst (both as pods name them) and
// returns its digest; in one registry the layers are mounted.
func copyImage(ctx context.Context, reg *registry.Client, src, dst string) (string, error) {
	srcRef, err := reg.Reference(ctx, src)
	if err != nil {
		return "", err
	}
	dstRef, err := reg.Reference(ctx, dst)
	if err != nil {
		return "", err
	}
	img, err := remote.Image(srcRef, reg.RemoteOptions(ctx)...)
	if err != nil {
		return "", err
	}
	if err := remote.Write(dstRef, img, reg.RemoteOptions(ctx)...); err != nil {
		return "", err
	}
	d, err := img.Digest()
	return d.String(), err
}

// floor appends the binary to the base as one layer and pushes it with
// go-containerregistry alone: what crane append does, and the least any
// build of the study's image can do.
func (b *bench) floor(ctx context.Context, scenario string) error {
	repo := b.repo(scenario)
	for i := 1; i <= b.o.Runs; i++ {
		s := Sample{Mode: scenario, Run: i, Values: map[Metric]float64{}}
		err := func() error {
			binary := append(append([]byte(nil), b.t.StudyBinary...), []byte(fmt.Sprintf("\nonesbuild-feasibility floor %d %d\n", i, time.Now().UnixNano()))...)
			start := time.Now()
			baseRef, err := b.c.reg.Reference(ctx, b.t.BaseImage)
			if err != nil {
				return err
			}
			base, err := remote.Image(baseRef, b.c.reg.RemoteOptions(ctx)...)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range []*tar.Header{
				{Typeflag: tar.TypeDir, Name: "usr/local/app/", Mode: 0o755, ModTime: time.Unix(0, 0)},
				{Typeflag: tar.TypeReg, Name: "usr/local/app/main", Mode: 0o755, Size: int64(len(binary)), ModTime: time.Unix(0, 0)},
			} {
				if err := tw.WriteHeader(h); err != nil {
					return err
				}
			}
			if _, err := tw.Write(binary); err != nil {
				return err
			}
			if err := tw.Close(); err != nil {
				return err
			}
			data := buf.Bytes()
			layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
			if err != nil {
				return err
			}
			img, err := mutate.Append(base, mutate.Addendum{Layer: layer})
			if err != nil {
				return err
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				return err
			}
			cfg = cfg.DeepCopy()
			cfg.Config.WorkingDir, cfg.Config.Entrypoint, cfg.Config.Cmd = "/usr/local/app", []string{"/usr/local/app/main"}, nil
			if img, err = mutate.ConfigFile(img, cfg); err != nil {
				return err
			}
			digest, err := img.Digest()
			if err != nil {
				return err
			}
			built := time.Now()
			ref, err := b.c.reg.Reference(ctx, repo+":latest")
			if err != nil {
				return err
			}
			if err := remote.Write(ref, img, b.c.reg.RemoteOptions(ctx)...); err != nil {
				return err
			}
			end := time.Now()
			b.recordPush(repo, digest.String())
			s.Digest = digest.String()
			s.Values[Build], s.Values[Push], s.Values[BuildTotal] = built.Sub(start).Seconds(), end.Sub(built).Seconds(), end.Sub(start).Seconds()
			s.Values[ImageSize] = 0
			if m, err := img.Manifest(); err == nil {
				size := m.Config.Size
				for _, l := range m.Layers {
					size += l.Size
				}
				s.Values[ImageSize] = float64(size)
			}
			return nil
		}()
		b.add(s, err)
	}
	return nil
}

// workloadDockerfile does work only Kaniko can do: RUN steps with the
// base image's own tools, an expensive early one and a cheap late one
// after a COPY, so a change to the copied file rebuilds only the end.
const workloadDockerfile = `FROM %s
RUN mkdir -p /opt/data && cd /opt/data && i=0 && while [ $i -lt 3000 ]; do echo "record $i of the feasibility workload" > file-$i.txt; i=$((i+1)); done && tar -czf /opt/data.tar.gz -C /opt data && sha256sum /opt/data.tar.gz > /opt/data.sha256
COPY app.conf /etc/app.conf
RUN sha256sum /etc/app.conf > /etc/app.conf.sha256 && wc -l /etc/app.conf > /etc/app.conf.lines
`

func (b *bench) workload(ctx context.Context, scenario string) error {
	cached := scenario != WorkloadCold
	cacheRepo := b.t.ClusterRegistry + "/" + repoPrefix + "/workload-cache"
	write := func(conf string) (string, error) {
		dir, err := os.MkdirTemp(b.work, "workload-")
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(fmt.Sprintf(workloadDockerfile, b.t.BaseImage)), 0o644); err != nil {
			return "", err
		}
		return dir, os.WriteFile(filepath.Join(dir, "app.conf"), []byte(conf), 0o644)
	}
	spec := func(dir string) build.Spec {
		s := b.baseSpec(scenario, dir)
		s.Source = &buildcontext.Source{Dir: dir}
		if cached {
			s.Pod.Cache = build.Cache{Enabled: true, Repo: cacheRepo}
		}
		return s
	}
	stable := "setting = stable\n"
	if cached {
		b.logf("  warm-up: one unmeasured build fills the layer cache")
		dir, err := write(stable)
		if err != nil {
			return err
		}
		var s Sample
		s.Values = map[Metric]float64{}
		if _, err := b.kanikoBuild(ctx, spec(dir), &s); err != nil {
			return fmt.Errorf("warm-up build: %w", err)
		}
	}
	for i := 1; i <= b.o.Runs; i++ {
		conf := stable
		if scenario != WorkloadCached {
			conf = fmt.Sprintf("setting = changed %d %d\n", i, time.Now().UnixNano())
		}
		s := Sample{Mode: scenario, Run: i, Values: map[Metric]float64{}}
		dir, err := write(conf)
		if err == nil {
			_, err = b.kanikoBuild(ctx, spec(dir), &s)
		}
		b.add(s, err)
	}
	return nil
}

// apply times terraform apply of changed binaries through the provider.
func (b *bench) apply(ctx context.Context, scenario string) error {
	count, executor := 1, build.ExecutorDirect
	switch scenario {
	case ApplyDirectTen:
		count = 10
	case ApplyKaniko:
		executor = build.ExecutorKaniko
	}
	tf, err := b.newTerraform(scenario)
	if err != nil {
		return err
	}
	dirs := make([]string, count)
	rewrite := func(run int) error {
		for i := range dirs {
			if dirs[i] == "" {
				d, err := os.MkdirTemp(b.work, "apply-")
				if err != nil {
					return err
				}
				dirs[i] = d
			}
			if err := b.t.writeContext(dirs[i], fmt.Sprintf("%s %d %d %d", scenario, run, i, time.Now().UnixNano())); err != nil {
				return err
			}
		}
		return nil
	}
	if err := rewrite(0); err != nil {
		return err
	}
	quoted := make([]string, count)
	for i, d := range dirs {
		quoted[i] = fmt.Sprintf("%q", d)
	}
	config := b.providerBlock() + fmt.Sprintf(`
locals {
  contexts = [%s]
}

resource "onesbuild_image" "app" {
  count             = length(local.contexts)
  repository        = %q
  tags              = ["apply-${count.index}"]
  context_dir       = local.contexts[count.index]
  dockerfile        = %q
  executor          = %q
  delete_on_destroy = %t
}
`, strings.Join(quoted, ", "), b.repo(scenario), orText(b.t.Dockerfile, "Dockerfile"), executor, b.o.Cleanup)
	if err := tf.write(config); err != nil {
		return err
	}
	b.logf("  warm-up: one unmeasured apply creates the resources")
	if _, err := tf.run(ctx, "apply", "-auto-approve", "-input=false"); err != nil {
		return fmt.Errorf("first apply: %w", err)
	}
	defer func() {
		if _, err := tf.run(context.WithoutCancel(ctx), "destroy", "-auto-approve", "-input=false"); err != nil {
			b.logf("  destroy after %s: %v", scenario, err)
		}
	}()
	for i := 1; i <= b.o.Runs; i++ {
		s := Sample{Mode: scenario, Run: i, Values: map[Metric]float64{}}
		err := rewrite(i)
		if err == nil {
			start := time.Now()
			_, err = tf.run(ctx, "apply", "-auto-approve", "-input=false")
			s.Values[Apply] = time.Since(start).Seconds()
		}
		if err == nil {
			var digests []string
			var total float64
			digests, total, err = tf.built()
			for _, d := range digests {
				b.recordPush(b.repo(scenario), d)
			}
			if total > 0 {
				s.Values[BuildTotal] = total
			}
		}
		b.add(s, err)
	}
	return nil
}

func (b *bench) providerBlock() string {
	var reg string
	switch {
	case b.t.HostRegistry != "" && b.t.HostRegistry != b.t.ClusterRegistry:
		reg = fmt.Sprintf("  registry_hosts = { %q = %q }\n", b.t.ClusterRegistry, b.t.HostRegistry)
	case b.t.RegistryService != "":
		reg = fmt.Sprintf("  registry_port_forwards = { %q = %q }\n", b.t.ClusterRegistry, b.t.RegistryService)
	}
	if b.t.Insecure {
		reg += fmt.Sprintf("  insecure_registries = [%q]\n", b.t.ClusterRegistry)
	}
	kubeconfig := b.t.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	return fmt.Sprintf(`
terraform {
  required_providers {
    onesbuild = { source = "onesbuild/onesbuild" }
  }
}

provider "onesbuild" {
  config_path    = %q
  config_context = %q
  namespace      = %q
  kaniko_image   = %q
%s}
`, kubeconfig, b.t.Context, b.t.Namespace, b.t.KanikoImage, reg)
}

// terraformDir is a working directory driven with the CLI.
type terraformDir struct {
	cli, dir, rc string
}

func (b *bench) newTerraform(scenario string) (*terraformDir, error) {
	dir, err := os.MkdirTemp(b.work, "terraform-")
	if err != nil {
		return nil, err
	}
	plugins := filepath.Dir(b.t.ProviderBinary)
	rc := filepath.Join(dir, "terraformrc")
	overrides := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/onesbuild/onesbuild\" = %[1]q\n    \"registry.opentofu.org/onesbuild/onesbuild\" = %[1]q\n  }\n  direct {}\n}\n", plugins)
	if err := os.WriteFile(rc, []byte(overrides), 0o644); err != nil {
		return nil, err
	}
	return &terraformDir{cli: b.t.Terraform, dir: dir, rc: rc}, nil
}

func (t *terraformDir) write(config string) error {
	return os.WriteFile(filepath.Join(t.dir, "main.tf"), []byte(config), 0o644)
}

func (t *terraformDir) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, t.cli, append([]string{"-chdir=" + t.dir}, args...)...)
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+t.rc, "TF_IN_AUTOMATION=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return out, fmt.Errorf("%s %s: %w\n%s", filepath.Base(t.cli), args[0], err, tail)
	}
	return out, nil
}

// built reads the digests in state and the first resource's build total.
func (t *terraformDir) built() ([]string, float64, error) {
	out, err := t.run(context.Background(), "show", "-json")
	if err != nil {
		return nil, 0, err
	}
	var state struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Values struct {
						Digest  string             `json:"digest"`
						Timings map[string]float64 `json:"timings"`
					} `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(out, &state); err != nil {
		return nil, 0, err
	}
	var digests []string
	total := 0.0
	for i, r := range state.Values.RootModule.Resources {
		digests = append(digests, r.Values.Digest)
		if i == 0 {
			total = r.Values.Timings["total"]
		}
	}
	if len(digests) == 0 {
		return nil, 0, errors.New("no image in state")
	}
	return digests, total, nil
}
