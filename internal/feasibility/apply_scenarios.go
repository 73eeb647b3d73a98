package feasibility

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/tfcli"
)

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
	if err := tf.Write(config); err != nil {
		return err
	}
	b.logf("  warm-up: one unmeasured apply creates the resources")
	if _, err := tf.Run(ctx, "apply", "-auto-approve", "-input=false"); err != nil {
		return fmt.Errorf("first apply: %w", err)
	}
	defer func() {
		if _, err := tf.Run(context.WithoutCancel(ctx), "destroy", "-auto-approve", "-input=false"); err != nil {
			b.logf("  destroy after %s: %v", scenario, err)
		}
	}()
	for i := 1; i <= b.o.Runs; i++ {
		s := Sample{Mode: scenario, Run: i, Values: map[Metric]float64{}}
		err := rewrite(i)
		if err == nil {
			start := time.Now()
			_, err = tf.Run(ctx, "apply", "-auto-approve", "-input=false")
			s.Values[Apply] = time.Since(start).Seconds()
		}
		if err == nil {
			var digests []string
			var total float64
			digests, total, err = built(tf)
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
	return "\n" + tfcli.RequiredProvider("onesbuild", providerSource) + fmt.Sprintf(`
provider "onesbuild" {
  config_path    = %q
  config_context = %q
  namespace      = %q
  kaniko_image   = %q
%s}
`, kubeconfig, b.t.Context, b.t.Namespace, b.t.KanikoImage, reg)
}

// providerSource is the provider's address, as dev_overrides and
// required_providers name it.
const providerSource = "onesbuild/onesbuild"

// newTerraform is a working directory whose CLI takes the provider from
// the directory of Target.ProviderBinary.
func (b *bench) newTerraform(scenario string) (*tfcli.Dir, error) {
	dir, err := os.MkdirTemp(b.work, "terraform-")
	if err != nil {
		return nil, err
	}
	rc := filepath.Join(dir, "terraformrc")
	if err := tfcli.WriteDevOverrides(rc, providerSource, filepath.Dir(b.t.ProviderBinary)); err != nil {
		return nil, err
	}
	return &tfcli.Dir{CLI: b.t.Terraform, Path: dir, ConfigFile: rc}, nil
}

// built reads the digests in state and the first resource's build total.
func built(tf *tfcli.Dir) ([]string, float64, error) {
	state, err := tf.State(context.Background())
	if err != nil {
		return nil, 0, err
	}
	var digests []string
	total := 0.0
	for i, r := range state.Resources {
		digest, err := r.StringAttr("digest")
		if err != nil {
			return nil, 0, err
		}
		digests = append(digests, digest)
		if i == 0 {
			if total, err = r.MapNumberAttr("timings", "total"); err != nil {
				return nil, 0, err
			}
		}
	}
	if len(digests) == 0 {
		return nil, 0, errors.New("no image in state")
	}
	return digests, total, nil
}
