package kaniko

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/dockerfile"
)

// IndexPusher pushes an image index of images already in a repository;
// registry.Client implements it.
type IndexPusher interface {
	PushIndex(ctx context.Context, repository string, images map[string]string, tags []string) (string, []string, error)
	Untag(ctx context.Context, repository, tag string) error
}

// MultiPlatform builds a spec with several platforms as Kaniko can: one
// build per platform, each in a pod scheduled on nodes of its platform
// (a Dockerfile without RUN may build a foreign platform on any node,
// with --custom-platform), all at once within the limit Next applies;
// then it pushes the index of their images under the spec's tags. Each
// platform's image is pushed under a temporary tag, removed once the
// index holds it. A spec with one platform passes through.
type MultiPlatform struct {
	Next     build.Executor
	Registry IndexPusher
	// Nodes tells whether a node of each platform exists, which a RUN
	// step needs; nil skips the check.
	Nodes build.NodePlatforms
	Log   build.Logger
}

// Plan refuses, before any pod, a Dockerfile with RUN for a platform no
// node has.
func (m MultiPlatform) Plan(ctx context.Context, spec build.Spec) (build.Plan, error) {
	if !spec.MultiPlatform() {
		return m.Next.Plan(ctx, spec)
	}
	if err := m.checkNodes(ctx, spec); err != nil {
		return build.Plan{}, err
	}
	return m.Next.Plan(ctx, m.platformSpec(spec, spec.TargetPlatforms()[0], false, ""))
}

// runs reports whether the spec's Dockerfile runs commands; a URL
// context is assumed to.
func runs(spec build.Spec) bool {
	if !spec.Context.Local() {
		return true
	}
	content, err := spec.Context.ReadDockerfile()
	return err != nil || dockerfile.HasRun(content)
}

// checkNodes fails when a Dockerfile with RUN names a platform that no
// node a build pod could be scheduled on has.
func (m MultiPlatform) checkNodes(ctx context.Context, spec build.Spec) error {
	if m.Nodes == nil || !runs(spec) {
		return nil
	}
	for _, p := range spec.TargetPlatforms() {
		s := m.platformSpec(spec, p, true, "")
		nodes, err := m.Nodes.Platforms(ctx, s.Pod.NodeSelector, s.Pod.Tolerations)
		if err != nil {
			build.LoggerOr(m.Log).Step("cannot list the nodes to check each platform has one; the pods will tell", "error", err.Error())
			return nil
		}
		if len(nodes) == 0 {
			return &build.Failure{Reason: build.ReasonUnschedulable,
				Message: fmt.Sprintf("the Dockerfile runs commands (RUN), which need a node of each platform, and no node a build pod could be scheduled on is %s (node selector %v)", p, s.Pod.NodeSelector)}
		}
	}
	return nil
}

// platformSpec is the build of one platform: its node selector (the
// spec's platform selector, else kubernetes.io/os and arch) when it runs
// commands, its own temporary tag.
func (m MultiPlatform) platformSpec(spec build.Spec, platform string, onItsNodes bool, tag string) build.Spec {
	s := spec
	s.Platforms, s.Platform = nil, platform
	if tag != "" {
		s.Tags = []string{tag}
	}
	if onItsNodes {
		sel := maps.Clone(spec.Pod.NodeSelector)
		if sel == nil {
			sel = map[string]string{}
		}
		if own, ok := spec.Pod.PlatformNodeSelectors[platform]; ok {
			maps.Copy(sel, own)
		} else if p, err := v1.ParsePlatform(platform); err == nil {
			sel[corev1.LabelOSStable], sel[corev1.LabelArchStable] = p.OS, p.Architecture
		}
		s.Pod.NodeSelector = sel
	}
	return s
}

// Build runs the platforms' builds at once and pushes their index.
func (m MultiPlatform) Build(ctx context.Context, spec build.Spec) (*build.Result, error) {
	if !spec.MultiPlatform() {
		return m.Next.Build(ctx, spec)
	}
	res := build.NewResult(build.ExecutorKaniko)
	if err := m.checkNodes(ctx, spec); err != nil {
		return res, err
	}
	onItsNodes := runs(spec)
	// The temporary tags are the same for every build of the image, so
	// the pods a killed provider left are found by their build key.
	nonce := BuildKey(spec)[:8]
	platforms := spec.TargetPlatforms()
	results := make([]*build.Result, len(platforms))
	errs := make([]error, len(platforms))
	tags := make([]string, len(platforms))
	var wg sync.WaitGroup
	for i, p := range platforms {
		tags[i] = "onesbuild-platform-" + nonce + "-" + strings.ReplaceAll(p, "/", "-")
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = m.Next.Build(ctx, m.platformSpec(spec, p, onItsNodes, tags[i]))
		}()
	}
	wg.Wait()
	defer func() {
		for i, r := range results {
			if r != nil && len(r.Tags) > 0 {
				_ = m.Registry.Untag(context.WithoutCancel(ctx), spec.Repository, tags[i])
			}
		}
	}()
	res.PlatformDigests = map[string]string{}
	for i, p := range platforms {
		r := results[i]
		if r == nil {
			r = build.NewResult(build.ExecutorKaniko)
		}
		res.Warnings = append(res.Warnings, r.Warnings...)
		res.Attempts += r.Attempts
		for phase, d := range r.Timings {
			res.Timings[phase] = max(res.Timings[phase], d)
		}
		if res.ExecutorImageDigest == "" {
			res.ExecutorImage, res.ExecutorImageDigest = r.ExecutorImage, r.ExecutorImageDigest
		}
		if res.Pod == "" {
			res.Pod = r.Pod
		}
		if r.Digest != "" {
			res.PlatformDigests[p] = r.Digest
		}
		if errs[i] != nil {
			res.LogTail = r.LogTail
			var f *build.Failure
			if errors.As(errs[i], &f) {
				f.Message = "building " + p + ": " + f.Message
			}
			return res, errs[i]
		}
	}
	digest, pushed, err := m.Registry.PushIndex(ctx, spec.Repository, res.PlatformDigests, spec.Tags)
	if len(pushed) > 0 {
		res.Digest, res.Tags = digest, pushed
	}
	if err != nil {
		return res, &build.Failure{Reason: build.ReasonRegistry, Message: "pushing the image index of " + strings.Join(platforms, ", "), Err: err}
	}
	build.LoggerOr(m.Log).Step("image index pushed", "digest", digest, "platforms", strings.Join(platforms, ","))
	return res, nil
}
