package kaniko

import (
	"context"
	"errors"
	"testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

type digests map[string]string

func (d digests) Digest(_ context.Context, ref string) (string, error) {
	if v, ok := d[ref]; ok {
		return v, nil
	}
	return "", errors.New("unreachable")
}

type builtBy struct {
	res *build.Result
	err error
}

func (b builtBy) Plan(context.Context, build.Spec) (build.Plan, error) { return build.Plan{}, nil }
func (b builtBy) Build(context.Context, build.Spec) (*build.Result, error) {
	return b.res, b.err
}

func TestRecordBaseDigest(t *testing.T) {
	reg := digests{"base:1": "sha256:base", "final:2": "sha256:final"}
	spec := func(dockerfile string) build.Spec {
		s := baseSpec()
		s.Context = build.Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": dockerfile}}}
		return archived(t, s)
	}
	for _, tt := range []struct {
		name       string
		dockerfile string
		res        *build.Result
		err        error
		want       string
	}{
		{name: "the final stage's base", dockerfile: "FROM base:1 AS b\nFROM final:2\n", res: &build.Result{}, want: "sha256:final"},
		{name: "a stage on a stage", dockerfile: "FROM base:1 AS b\nFROM b\n", res: &build.Result{}, want: "sha256:base"},
		{name: "already known", dockerfile: "FROM base:1\n", res: &build.Result{BaseImageDigest: "sha256:known"}, want: "sha256:known"},
		{name: "unreachable stays unknown", dockerfile: "FROM elsewhere:1\n", res: &build.Result{}, want: ""},
		{name: "scratch", dockerfile: "FROM scratch\n", res: &build.Result{}, want: ""},
		{name: "a failed build is not resolved", dockerfile: "FROM base:1\n", res: &build.Result{}, err: errors.New("failed"), want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := RecordBaseDigest{Registry: reg, Next: builtBy{tt.res, tt.err}}.Build(context.Background(), spec(tt.dockerfile))
			if !errors.Is(err, tt.err) || res.BaseImageDigest != tt.want {
				t.Errorf("base %q, err %v; want %q", res.BaseImageDigest, err, tt.want)
			}
		})
	}
}
