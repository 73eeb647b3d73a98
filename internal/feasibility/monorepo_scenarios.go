package feasibility

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// The monorepo: many direct services and some Kaniko services of one
// base in one configuration, planned and applied as a team keeps them
// (issue 17.6). Each step is reported as its own mode.
const (
	Monorepo                = "monorepo"
	MonorepoFirstApply      = "monorepo: first apply"
	MonorepoPlanUnchanged   = "monorepo: plan, nothing changed"
	MonorepoPlanOneChanged  = "monorepo: plan, one changed"
	MonorepoApplyOneChanged = "monorepo: apply, one changed"
	MonorepoApplyAllDirect  = "monorepo: apply, every direct service changed"
	MonorepoApplyOneKaniko  = "monorepo: apply, one kaniko service changed"
	MonorepoApplyAllKaniko  = "monorepo: apply, every kaniko service changed"
	// MonorepoPlanTerraformOnly is the same plan of as many of
	// Terraform's built-in terraform_data resources, in the same run: what
	// Terraform itself takes to plan that many resources, with no
	// provider process at all.
	MonorepoPlanTerraformOnly = "monorepo: plan of as many terraform_data, nothing changed"
)

// MonorepoSteps are the monorepo's modes, in the order they run.
var MonorepoSteps = []string{MonorepoFirstApply, MonorepoPlanUnchanged, MonorepoPlanTerraformOnly, MonorepoPlanOneChanged, MonorepoApplyOneChanged,
	MonorepoApplyAllDirect, MonorepoApplyOneKaniko, MonorepoApplyAllKaniko}

// MonorepoSize is how many services of each executor the monorepo has,
// and the provider's max_concurrent_builds.
type MonorepoSize struct {
	Direct        int `json:"direct"`
	Kaniko        int `json:"kaniko"`
	MaxConcurrent int `json:"max_concurrent_builds"`
}

// DefaultMonorepo is the monorepo: 100 direct and 20 Kaniko
// services, the provider's default of 4 concurrent builds.
var DefaultMonorepo = MonorepoSize{Direct: 100, Kaniko: 20, MaxConcurrent: 4}

// CPUBusy is the share of this machine's CPU time spent busy during a
// step (0 to 1), from /proc/stat; on the harness the nodes run here.
const CPUBusy Metric = "cpu_busy"

// monorepo runs the monorepo's steps: the first apply once, then each
// run's plans and applies.
func (b *bench) monorepo(ctx context.Context, _ string) error {
	size := b.o.Monorepo
	if size.Direct == 0 && size.Kaniko == 0 {
		size = DefaultMonorepo
	}
	if size.MaxConcurrent == 0 {
		size.MaxConcurrent = DefaultMonorepo.MaxConcurrent
	}
	b.r.Monorepo = &size
	tf, err := b.newTerraform(Monorepo)
	if err != nil {
		return err
	}
	newDirs := func(n int) ([]string, error) {
		dirs := make([]string, n)
		for i := range dirs {
			d, err := os.MkdirTemp(b.work, "monorepo-")
			if err != nil {
				return nil, err
			}
			dirs[i] = d
		}
		return dirs, nil
	}
	directDirs, err := newDirs(size.Direct)
	if err != nil {
		return err
	}
	kanikoDirs, err := newDirs(size.Kaniko)
	if err != nil {
		return err
	}
	change := func(dirs []string, tag string) error {
		for i, d := range dirs {
			if err := b.t.writeContext(d, fmt.Sprintf("monorepo %s %d %d", tag, i, time.Now().UnixNano())); err != nil {
				return err
			}
		}
		return nil
	}
	if err := change(directDirs, "0"); err != nil {
		return err
	}
	if err := change(kanikoDirs, "0"); err != nil {
		return err
	}
	if err := tf.Write(b.monorepoConfig(size, directDirs, kanikoDirs)); err != nil {
		return err
	}
	defer func() {
		if _, err := tf.Run(context.WithoutCancel(ctx), "destroy", "-auto-approve", "-input=false"); err != nil {
			b.logf("  destroy after %s: %v", Monorepo, err)
		}
	}()
	terraformOnly, err := b.newTerraform(MonorepoPlanTerraformOnly)
	if err != nil {
		return err
	}
	if err := terraformOnly.Write(terraformDataConfig(size.Direct + size.Kaniko)); err != nil {
		return err
	}
	defer func() {
		if _, err := terraformOnly.Run(context.WithoutCancel(ctx), "destroy", "-auto-approve", "-input=false"); err != nil {
			b.logf("  destroy after %s: %v", MonorepoPlanTerraformOnly, err)
		}
	}()
	step := func(mode string, run int, args ...string) error {
		tf := tf
		if mode == MonorepoPlanTerraformOnly {
			tf = terraformOnly
		}
		return b.measure(mode, run, true, func(s *Sample) error {
			before, cpuErr := readCPU()
			start := time.Now()
			_, err := tf.Run(ctx, args...)
			s.Values[Apply] = time.Since(start).Seconds()
			if after, err := readCPU(); err == nil && cpuErr == nil {
				s.Values[CPUBusy] = after.busySince(before)
			}
			return err
		})
	}
	apply := []string{"apply", "-auto-approve", "-input=false"}
	plan := []string{"plan", "-input=false", "-lock=false"}
	if err := step(MonorepoFirstApply, 1, apply...); err != nil {
		return fmt.Errorf("first apply: %w", err)
	}
	if _, err := terraformOnly.Run(ctx, apply...); err != nil {
		return fmt.Errorf("applying the terraform_data resources: %w", err)
	}
	for run := 1; run <= b.o.Runs; run++ {
		tag := strconv.Itoa(run)
		_ = step(MonorepoPlanUnchanged, run, plan...)
		_ = step(MonorepoPlanTerraformOnly, run, plan...)
		if len(directDirs) > 0 {
			if err := change(directDirs[:1], tag); err != nil {
				return err
			}
			_ = step(MonorepoPlanOneChanged, run, plan...)
			_ = step(MonorepoApplyOneChanged, run, apply...)
			if err := change(directDirs, tag+"-all"); err != nil {
				return err
			}
			_ = step(MonorepoApplyAllDirect, run, apply...)
		}
		if len(kanikoDirs) > 0 {
			if err := change(kanikoDirs[:1], tag); err != nil {
				return err
			}
			_ = step(MonorepoApplyOneKaniko, run, apply...)
			if err := change(kanikoDirs, tag+"-all"); err != nil {
				return err
			}
			_ = step(MonorepoApplyAllKaniko, run, apply...)
		}
	}
	if state, err := tf.State(ctx); err == nil {
		for _, r := range state.Resources {
			if d, err := r.StringAttr("digest"); err == nil {
				b.recordPush(b.repo(Monorepo), d)
			}
		}
	}
	return nil
}

// terraformDataConfig is n of Terraform's built-in terraform_data
// resources, each with a few inputs as a service's image has (a path,
// tags, build arguments): no provider is started to plan them.
func terraformDataConfig(n int) string {
	return fmt.Sprintf(`resource "terraform_data" "service" {
  count = %d
  input = {
    context    = "services/${count.index}"
    repository = "registry.kube-system.svc.cluster.local:5000/service-${count.index}"
    tags       = ["latest", "v${count.index}"]
    build_args = { SERVICE = "service-${count.index}" }
  }
}
`, n)
}

// monorepoConfig is the configuration: one resource block per executor,
// a service per context directory.
func (b *bench) monorepoConfig(size MonorepoSize, directDirs, kanikoDirs []string) string {
	list := func(dirs []string) string {
		q := make([]string, len(dirs))
		for i, d := range dirs {
			q[i] = strconv.Quote(d)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	provider := strings.Replace(b.providerBlock(), "provider \"onesbuild\" {\n",
		fmt.Sprintf("provider \"onesbuild\" {\n  max_concurrent_builds = %d\n", size.MaxConcurrent), 1)
	return provider + fmt.Sprintf(`
locals {
  direct = %s
  kaniko = %s
}

resource "onesbuild_image" "direct" {
  count             = length(local.direct)
  repository        = %[3]q
  tags              = ["direct-${count.index}"]
  context_dir       = local.direct[count.index]
  dockerfile        = %[4]q
  executor          = %[5]q
  delete_on_destroy = %[7]t
}

resource "onesbuild_image" "kaniko" {
  count             = length(local.kaniko)
  repository        = %[3]q
  tags              = ["kaniko-${count.index}"]
  context_dir       = local.kaniko[count.index]
  dockerfile        = %[4]q
  executor          = %[6]q
  delete_on_destroy = %[7]t
}
`, list(directDirs), list(kanikoDirs), b.repo(Monorepo), orText(b.t.Dockerfile, "Dockerfile"), build.ExecutorDirect, build.ExecutorKaniko, b.o.Cleanup)
}

// cpuTimes are the aggregate CPU times of /proc/stat, in ticks.
type cpuTimes struct{ busy, total uint64 }

func readCPU() (cpuTimes, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[0] != "cpu" {
			continue
		}
		var t cpuTimes
		for i, v := range fields[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return cpuTimes{}, err
			}
			// user nice system idle iowait irq softirq steal guest guest_nice:
			// guest time is already counted in user and nice.
			if i >= 8 {
				break
			}
			t.total += n
			if i != 3 && i != 4 {
				t.busy += n
			}
		}
		return t, nil
	}
	return cpuTimes{}, fmt.Errorf("/proc/stat has no cpu line")
}

// busySince is the busy share between two readings.
func (t cpuTimes) busySince(before cpuTimes) float64 {
	if t.total <= before.total {
		return 0
	}
	return float64(t.busy-before.busy) / float64(t.total-before.total)
}
