package build

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/archcheck"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/dockerfile"
)

// CheckArchitecture refuses, before anything is built (at plan time from
// the context's files, at build time from the snapshot), an image whose
// Dockerfile copies an executable (ELF, Mach-O, PE) built for another
// platform than the image's: the study's "exec format error", which only
// shows when a pod starts. Each platform of the build is checked
// against the files its COPY instructions copy (with its own TARGETARCH);
// a build that names no platform is checked against the nodes' platform
// when they all have one. Spec.SkipArchitectureCheck turns it off.
type CheckArchitecture struct {
	Nodes NodePlatforms
	Next  Executor
	Log   Logger
	Now   Clock
}

// Plan checks the context's files, then forwards.
func (c CheckArchitecture) Plan(ctx context.Context, spec Spec) (Plan, error) {
	if err := c.check(ctx, spec, func() ([]buildcontext.File, error) { return spec.Context.Source.RegularFiles(ctx) }); err != nil {
		return Plan{}, err
	}
	return c.Next.Plan(ctx, spec)
}

// Build checks the snapshot's files, then builds.
func (c CheckArchitecture) Build(ctx context.Context, spec Spec) (*Result, error) {
	start := c.Now.Now()
	err := c.check(ctx, spec, func() ([]buildcontext.File, error) {
		if snap := spec.Context.Snapshot(); snap != nil {
			return snap.RegularFiles()
		}
		return spec.Context.Source.RegularFiles(ctx)
	})
	took := c.Now.Now().Sub(start)
	if err != nil {
		res := NewResult("")
		res.Timings[PhaseArchitectureCheck] = took
		return res, err
	}
	res, err := c.Next.Build(ctx, spec)
	res = resultOr(res)
	res.Timings[PhaseArchitectureCheck] = took
	return res, err
}

func (c CheckArchitecture) check(ctx context.Context, spec Spec, list func() ([]buildcontext.File, error)) error {
	if spec.SkipArchitectureCheck || !spec.Context.Local() {
		return nil
	}
	platforms := spec.TargetPlatforms()
	if len(platforms) == 0 && c.Nodes != nil {
		if nodes, err := c.Nodes.Platforms(ctx, spec.Pod.NodeSelector, spec.Pod.Tolerations); err == nil && len(nodes) == 1 {
			platforms = nodes
		}
	}
	if len(platforms) == 0 {
		LoggerOr(c.Log).Step("architecture check skipped: the build names no platform and the nodes' is not one known platform")
		return nil
	}
	content, err := spec.Context.ReadDockerfile()
	if err != nil {
		return nil // the executor reports an unreadable Dockerfile
	}
	files, err := list()
	if err != nil {
		return &Failure{Reason: ReasonContextRead, Message: "listing the context's files for the architecture check", Err: err}
	}
	for _, platform := range platforms {
		copies := dockerfile.FinalCopies(content, spec.BuildArgs, PlatformArgs(platform, platform), spec.Target)
		for _, f := range files {
			if f.BuilderOnly {
				continue
			}
			cp, ok := copiedBy(copies, f.Path)
			if !ok {
				continue
			}
			if err := checkFile(f, platform); err != nil {
				var m *archcheck.MismatchError
				if errors.As(err, &m) {
					return &Failure{Reason: ReasonArchitecture, Err: err,
						Message: fmt.Sprintf("%s on line %d copies %s, which is %s: %s", cp.Instruction, cp.Line, f.Path, m.Error(), m.Fix())}
				}
			}
		}
	}
	return nil
}

func copiedBy(copies []dockerfile.Copy, p string) (dockerfile.Copy, bool) {
	for _, c := range copies {
		if c.Copies(p) {
			return c, true
		}
	}
	return dockerfile.Copy{}, false
}

// checkFile identifies one file; what is not an executable passes, and
// so does one whose headers do not parse (it is not a program a node
// could start).
func checkFile(f buildcontext.File, platform string) error {
	r, err := f.Open()
	if err != nil {
		return nil
	}
	defer r.Close()
	b, err := archcheck.Identify(r, f.Size)
	if err != nil || b == nil {
		return nil
	}
	return archcheck.Check(b, platform)
}

// PlatformArgs are Kaniko's predefined platform arguments for a target
// platform and the platform the build runs on, both os/arch[/variant];
// an empty one is left out.
func PlatformArgs(target, build string) map[string]string {
	args := map[string]string{}
	for prefix, platform := range map[string]string{"TARGET": target, "BUILD": build} {
		if platform == "" {
			continue
		}
		parsed, err := v1.ParsePlatform(platform)
		if err != nil {
			continue
		}
		args[prefix+"PLATFORM"] = platform
		args[prefix+"OS"] = parsed.OS
		args[prefix+"ARCH"] = parsed.Architecture
		args[prefix+"VARIANT"] = parsed.Variant
		args[prefix+"OSVERSION"] = parsed.OSVersion
	}
	return args
}
