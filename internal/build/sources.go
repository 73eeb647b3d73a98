package build

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/dockerfile"
)

// BaseImages are the configurations of the images a Dockerfile's stages
// start from, read from their registries: by reference as FROM expands
// it, then by platform (os/arch[/variant] of an index's image, "" for an
// image that is not an index).
type BaseImages map[string]map[string]dockerfile.BaseConfig

// lookup is the configuration Kaniko would pull for ref on platform.
func (b BaseImages) lookup(ref, platform string) (dockerfile.BaseConfig, bool) {
	byPlatform, ok := b[ref]
	if !ok {
		return dockerfile.BaseConfig{}, false
	}
	if c, ok := byPlatform[""]; ok {
		return c, true
	}
	want, err := v1.ParsePlatform(platform)
	if err != nil {
		return dockerfile.BaseConfig{}, false
	}
	for p, c := range byPlatform {
		if got, err := v1.ParsePlatform(p); err == nil && got.Satisfies(*want) {
			return c, true
		}
	}
	return dockerfile.BaseConfig{}, false
}

// BaseReader reads the image configurations a reference points at, by
// platform ("" for an image that is not an index); registry.Client
// is one.
type BaseReader interface {
	Configs(ctx context.Context, ref string) (map[string]*v1.ConfigFile, error)
}

// baseReadTimeout bounds what a check waits for the base images.
const baseReadTimeout = 5 * time.Second

// ReadBases reads the configurations of the images the spec's Dockerfile
// starts its stages from, as far as reader reaches them: a base whose
// registry does not answer from this machine is left out, and its
// environment and ONBUILD triggers are then not checked (a Kaniko build
// needs no registry access from here).
func ReadBases(ctx context.Context, reader BaseReader, spec Spec) BaseImages {
	if reader == nil || !spec.Context.Local() {
		return nil
	}
	content, err := spec.Context.ReadDockerfile()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, baseReadTimeout)
	defer cancel()
	bases := BaseImages{}
	for _, ref := range dockerfile.Bases(content, dockerfile.SourceOptions{BuildArgs: spec.BuildArgs, Target: spec.Target}) {
		configs, err := reader.Configs(ctx, ref)
		if err != nil {
			continue
		}
		byPlatform := map[string]dockerfile.BaseConfig{}
		for p, cfg := range configs {
			if cfg != nil {
				byPlatform[p] = dockerfile.BaseConfig{Env: cfg.Config.Env, OnBuild: cfg.Config.OnBuild}
			}
		}
		bases[ref] = byPlatform
	}
	return bases
}

// candidatePlatforms are the platforms a build without one may run on,
// for Kaniko's predefined arguments: the platforms of Kubernetes nodes
// seen in practice, two and three components.
var candidatePlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm64/v8", "linux/arm/v7", "linux/arm/v6", "linux/386", "linux/ppc64le", "linux/s390x", "linux/riscv64"}

// predefinedSets are the values Kaniko's predefined arguments may take:
// for each target platform the build names (or any candidate, and any
// platform of the bases), with any build platform (that of the node).
func predefinedSets(spec Spec, bases BaseImages) []map[string]string {
	targets := spec.TargetPlatforms()
	builds := append([]string(nil), candidatePlatforms...)
	for _, byPlatform := range bases {
		for p := range byPlatform {
			if p != "" {
				builds = append(builds, p)
			}
		}
	}
	builds = uniqueSorted(append(builds, targets...))
	if len(targets) == 0 {
		targets = builds
	}
	var sets []map[string]string
	for _, t := range targets {
		for _, b := range builds {
			sets = append(sets, PlatformArgs(t, b))
		}
	}
	return sets
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// CheckSources refuses, before anything is built, a local context's
// Dockerfile with a COPY or ADD source that Kaniko would read outside
// what it copies from, where it mounts the registry credentials
// (/kaniko/.docker) and build secrets: a source above the context or
// above the stage or image of --from once expanded as Kaniko expands it
// (dockerfile.CheckSources), or one that goes through a symbolic link of
// the context leading outside it (buildcontext.Tree.CheckSource). The
// links are read from the snapshot when there is one, else, at plan
// time, from the context directory (lstat only). bases are the base
// images' configurations when the caller read them: their environment
// and ONBUILD triggers are then checked too. A URL context is read by
// Kaniko alone and not checked. Every refusal is a Failure with
// ReasonDockerfile.
func CheckSources(spec Spec, bases BaseImages) error {
	if !spec.Context.Local() {
		return nil
	}
	content, err := spec.Context.ReadDockerfile()
	if err != nil {
		return &Failure{Reason: ReasonContextRead, Message: "reading the Dockerfile", Err: err}
	}
	sources := dockerfile.Sources(content, dockerfile.SourceOptions{
		BuildArgs:  spec.BuildArgs,
		Target:     spec.Target,
		Predefined: predefinedSets(spec, bases),
		Base:       bases.lookup,
	})
	for _, s := range sources {
		if s.Leaves() {
			err := &dockerfile.EscapeError{Source: s}
			return &Failure{Reason: ReasonDockerfile, Message: err.Error(), Err: err}
		}
	}
	var tree *buildcontext.Tree
	for _, s := range sources {
		if s.From != "" {
			continue
		}
		if tree == nil {
			if tree, err = contextTree(spec.Context); err != nil {
				return &Failure{Reason: ReasonContextRead, Message: "reading the context's symbolic links", Err: err}
			}
		}
		err := tree.CheckSource(s.Path, s.Instruction == "ADD")
		var out *buildcontext.OutsideLinkError
		if errors.As(err, &out) {
			return &Failure{Reason: ReasonDockerfile, Message: outsideLinkMessage(s, out), Err: err}
		}
	}
	return nil
}

// contextTree is the snapshot's tree, or the source's before there is
// one.
func contextTree(c Context) (*buildcontext.Tree, error) {
	if snap := c.Snapshot(); snap != nil {
		return snap.Tree()
	}
	return c.Source.Tree()
}

// outsideLinkMessage says what reads outside and how to fix it.
func outsideLinkMessage(s dockerfile.Source, out *buildcontext.OutsideLinkError) string {
	msg := fmt.Sprintf("%s: the source %s goes through the symbolic link %s, which points to %s, outside the build context; "+
		"Kaniko unpacks the context with its links and would read what they point to from its own file system, where the registry credentials are mounted",
		s.Where(), s.Written, out.Link, out.Target)
	if s.Instruction == "ADD" && out.Link == strings.TrimPrefix(path.Clean("/"+s.Path), "/") {
		return msg + ". ADD opens the file it names to see whether it is an archive: put the file the link points to into the context, or copy the link itself with COPY"
	}
	return msg + ". Put what the link points to into the context instead of the link, or copy the link itself (name it without a trailing slash)"
}
