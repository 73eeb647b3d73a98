package feasibility

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/kaniko"
)

// directTwoPlatforms builds the study's image for two platforms without
// a pod, runs it (the node picks its platform's image from the index).
func (b *bench) directTwoPlatforms(ctx context.Context, scenario string) error {
	b.logf("  warm-up: one unmeasured build reads both base images' file indexes once")
	if err := b.twoPlatformRun(ctx, scenario, 0, false, b.direct); err != nil {
		return fmt.Errorf("warm-up build: %w", err)
	}
	for i := 1; i <= b.o.Runs; i++ {
		_ = b.twoPlatformRun(ctx, scenario, i, true, b.direct)
	}
	return nil
}

// kanikoTwoPlatforms builds it with Kaniko: one pod per platform at once
// (the study's Dockerfile has no RUN, so both run on any node with
// --custom-platform), then the index pushed from this machine.
func (b *bench) kanikoTwoPlatforms(ctx context.Context, scenario string) error {
	exec := kaniko.MultiPlatform{Next: b.kaniko, Registry: b.c.reg}
	b.logf("  warm-up: one unmeasured build puts the executor and both bases on the nodes")
	if err := b.twoPlatformRun(ctx, scenario, 0, false, exec); err != nil {
		return fmt.Errorf("warm-up build: %w", err)
	}
	for i := 1; i <= b.o.Runs; i++ {
		_ = b.twoPlatformRun(ctx, scenario, i, true, exec)
	}
	return nil
}

func (b *bench) twoPlatformRun(ctx context.Context, scenario string, n int, record bool, exec build.Executor) error {
	return b.measure(scenario, n, record, func(s *Sample) error {
		dir, err := os.MkdirTemp(b.work, "ctx-")
		if err != nil {
			return err
		}
		if err := b.t.writeTwoPlatformContext(dir, fmt.Sprintf("%s %d %d", scenario, n, time.Now().UnixNano())); err != nil {
			return err
		}
		spec := b.baseSpec(scenario, dir)
		spec.Platforms = TwoPlatforms
		ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		res, err := build.SnapshotContext{Next: b.checkArchitecture(exec)}.Build(ctx, spec)
		if err != nil {
			return err
		}
		b.recordBuild(spec.Repository, res, s)
		return b.runImage(ctx, spec.Repository, res.Digest, s)
	})
}
