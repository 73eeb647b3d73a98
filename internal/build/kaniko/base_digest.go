package kaniko

import (
	"context"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/dockerfile"
)

// RecordBaseDigest wraps the Kaniko executor, which does not report the
// base image it built on: after a successful build of a local context it
// resolves the image the Dockerfile's final stage starts from, as the
// registry names it right after the build, and records its digest. A
// registry this machine cannot reach leaves it unknown.
type RecordBaseDigest struct {
	Registry interface {
		Digest(ctx context.Context, ref string) (string, error)
	}
	Next build.Executor
}

// Plan forwards.
func (r RecordBaseDigest) Plan(ctx context.Context, spec build.Spec) (build.Plan, error) {
	return r.Next.Plan(ctx, spec)
}

// Build runs the next executor, then resolves the base.
func (r RecordBaseDigest) Build(ctx context.Context, spec build.Spec) (*build.Result, error) {
	res, err := r.Next.Build(ctx, spec)
	if err != nil || res.BaseImageDigest != "" || spec.Context.Snapshot() == nil {
		return res, err
	}
	content, rerr := spec.Context.ReadDockerfile()
	if rerr != nil {
		return res, nil
	}
	if base, ok := dockerfile.FinalBase(content, spec.BuildArgs, spec.Target); ok {
		if d, derr := r.Registry.Digest(ctx, base); derr == nil {
			res.BaseImageDigest, res.BaseImage = d, base
		}
	}
	return res, nil
}
