package direct

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// SecretReader reads the data of a Secret in a namespace; kube.Secrets
// implements it.
type SecretReader interface {
	SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error)
}

// Executor builds eligible Dockerfiles without a pod.
type Executor struct {
	// Registry reaches the base image's and the target's registries from
	// this machine, with their credentials.
	Registry *registry.Client
	// IndexCacheDir keeps the file metadata of base images, by digest;
	// empty disables the cache.
	IndexCacheDir string
	// LayerCacheDir keeps the layers builds and predictions write, by
	// uncompressed digest; empty writes each layer to a temporary file.
	LayerCacheDir string
	// Nodes tells the platforms of the nodes a build pod of the spec
	// could run on, the platform Kaniko would build for when the spec
	// names none; nil when no cluster is configured.
	Nodes build.NodePlatforms
	// Secrets reads the registry credentials Secret a spec names
	// (RegistryAccess.AuthSecret); nil when no cluster is configured.
	Secrets SecretReader
	Log     build.Logger
	Now     build.Clock
}

var (
	_ build.Executor  = (*Executor)(nil)
	_ build.Prober    = (*Executor)(nil)
	_ build.Predictor = (*Executor)(nil)
)

// Plan accepts the spec when a direct build can perform its Dockerfile
// (read from the snapshot at build time and from the source before, so
// both read the same file) and knows the platform Kaniko would build
// for; it declines with ReasonNotEligible or ReasonPlatform otherwise.
// Whether the base has several platforms is asked of its registry, when
// it answers within a few seconds; if not, the build decides.
func (e *Executor) Plan(ctx context.Context, spec build.Spec) (build.Plan, error) {
	plan, err := analyze(spec)
	if err != nil {
		return build.Plan{}, err
	}
	targets := e.targets(ctx, spec)
	for _, p := range targets {
		if err := p.require(plan); err != nil {
			return build.Plan{}, err
		}
	}
	if err := e.checkBasePlatforms(ctx, spec, plan, targets); err != nil {
		return build.Plan{}, err
	}
	return build.Plan{Executor: build.ExecutorDirect}, nil
}

// checkBasePlatforms asks the base's registry, when it answers within a
// few seconds, whether the base has an image for every platform the
// build names, and, when the build names none and cannot know Kaniko's,
// whether the base has several.
func (e *Executor) checkBasePlatforms(ctx context.Context, spec build.Spec, plan *Plan, targets []platforms) error {
	ctx, cancel := context.WithTimeout(ctx, planRegistryTimeout)
	defer cancel()
	reg, err := e.registryFor(ctx, spec)
	if err != nil {
		return nil
	}
	desc, err := baseDescriptor(ctx, reg, plan.Base)
	if err != nil || !desc.MediaType.IsIndex() {
		return nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil
	}
	children := imageChildren(m)
	var missing []string
	for _, p := range targets {
		if p.target == "" {
			if len(children) > 1 {
				return platformFailure(p.unknown, fmt.Sprintf("the base image %s has several platforms (%s)", plan.Base, platformList(children)))
			}
			continue
		}
		if want, err := v1.ParsePlatform(p.target); err == nil && !hasPlatform(children, *want) {
			missing = append(missing, p.target)
		}
	}
	if len(missing) > 0 {
		return &build.Failure{Reason: build.ReasonBaseImage,
			Message: fmt.Sprintf("FROM %s has no image for %s (it has %s)", plan.Base, strings.Join(missing, ", "), platformList(children))}
	}
	return nil
}

// planRegistryTimeout bounds what a plan waits for a registry.
const planRegistryTimeout = 5 * time.Second

// analyze decides whether the spec's Dockerfile can be built directly
// and parses it; every error is a *build.Failure.
func analyze(spec build.Spec) (*Plan, error) {
	if !spec.Context.Local() {
		return nil, notEligible(&NotEligibleError{Reason: "a URL context is fetched by Kaniko inside the cluster; a direct build needs a local context"})
	}
	if len(spec.Secrets) > 0 {
		return nil, notEligible(&NotEligibleError{Reason: "build secrets are for RUN steps, which need Kaniko"})
	}
	content, err := spec.Context.ReadDockerfile()
	if err != nil {
		return nil, &build.Failure{Reason: build.ReasonContextRead, Message: "reading the Dockerfile", Err: err}
	}
	plan, err := Analyze(content, spec.BuildArgs, spec.Target)
	if err != nil {
		var ne *NotEligibleError
		if errors.As(err, &ne) {
			return nil, notEligible(err)
		}
		return nil, &build.Failure{Reason: build.ReasonDockerfile, Message: "reading the Dockerfile", Err: err}
	}
	if err := build.CheckSources(spec, nil); err != nil {
		return nil, err
	}
	return plan, nil
}

// Probe reports whether the registries of the base image and the target
// answer from this machine, which a direct build needs and Kaniko does
// not.
func (e *Executor) Probe(ctx context.Context, spec build.Spec) error {
	plan, err := analyze(spec)
	if err != nil {
		return err
	}
	reg, err := e.registryFor(ctx, spec)
	if err != nil {
		return err
	}
	for _, ref := range []string{plan.Base, spec.Repository + ":" + spec.Tags[0]} {
		if err := reg.Reachable(ctx, ref); err != nil {
			return fmt.Errorf("the registry of %s does not answer from this machine (contacted as %s): %w", ref, reg.Address(ref), err)
		}
	}
	return nil
}

// registryFor is the registry client with the build's credentials: those
// of spec.Registry.AuthSecret, read from the cluster, before the host's
// own Docker config.
func (e *Executor) registryFor(ctx context.Context, spec build.Spec) (*registry.Client, error) {
	name := spec.Registry.AuthSecret
	if name == "" {
		return e.Registry, nil
	}
	if e.Secrets == nil {
		return nil, &build.Failure{Reason: build.ReasonRegistrySecret, Message: fmt.Sprintf("the registry credentials secret %q is read from the cluster, and no cluster is configured", name)}
	}
	data, err := e.Secrets.SecretData(ctx, spec.Namespace, name)
	if err != nil {
		return nil, &build.Failure{Reason: build.ReasonRegistrySecret, Message: fmt.Sprintf("reading secret %q in namespace %q", name, spec.Namespace), Err: err}
	}
	for _, key := range []string{".dockerconfigjson", "config.json"} {
		if cfg, ok := data[key]; ok {
			kc, err := registry.DockerConfigKeychain(cfg, e.Registry.Hosts)
			if err != nil {
				return nil, &build.Failure{Reason: build.ReasonRegistrySecret, Message: fmt.Sprintf("secret %q", name), Err: err}
			}
			return e.Registry.WithKeychain(kc), nil
		}
	}
	return nil, &build.Failure{Reason: build.ReasonRegistrySecret, Message: fmt.Sprintf("secret %q has neither a .dockerconfigjson nor a config.json key", name)}
}

// Build assembles and pushes the image. A local context must have been
// archived (build.SnapshotContext). A spec pinned by its plan is built
// on the planned base and pushed only when it reaches the planned
// digest.
func (e *Executor) Build(ctx context.Context, spec build.Spec) (*build.Result, error) {
	res := build.NewResult(build.ExecutorDirect)
	start := e.Now.Now()
	ready, cleanup, err := e.prepare(ctx, spec, res)
	defer cleanup()
	if err != nil {
		return res, err
	}
	if pin := spec.Pin; pin != nil && pin.Digest != "" && pin.Digest != ready.digest {
		return res, &build.Failure{Reason: build.ReasonPredictionMissed,
			Message: fmt.Sprintf("the build gives %s, and the plan showed %s; nothing was pushed", ready.digest, pin.Digest)}
	}

	t := e.Now.Now()
	var pushed []string
	if spec.MultiPlatform() {
		pushed, err = e.pushIndex(ctx, ready, spec)
	} else {
		pushed, err = e.push(ctx, ready.reg, ready.images[0].img, spec)
	}
	if len(pushed) > 0 {
		res.Digest, res.Tags = ready.digest, pushed
	}
	if err != nil {
		return res, err
	}
	res.Timings[build.PhasePush] = e.Now.Now().Sub(t)
	res.Timings[build.PhaseTotal] = e.Now.Now().Sub(start)
	e.logger().Step("image pushed", "digest", ready.digest, "seconds", res.Timings[build.PhaseTotal].Seconds(), "executor", build.ExecutorDirect)
	return res, nil
}

// Predict assembles the image as Build does and reports what Build
// would push, without pushing: a direct build is reproducible, so the
// same inputs give the same digest. The layers it writes stay in the
// layer cache (LayerCacheDir) for the build.
func (e *Executor) Predict(ctx context.Context, spec build.Spec) (*build.Result, error) {
	if !spec.ReproducibleLabels() {
		return nil, build.ErrNotPredictable
	}
	res := build.NewResult(build.ExecutorDirect)
	ready, cleanup, err := e.prepare(ctx, spec, res)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	res.Digest = ready.digest
	return res, nil
}

// prepared is a build assembled and not pushed yet.
type prepared struct {
	reg    *registry.Client
	images []platformImage
	// index lists the images of a multi-platform build.
	index  v1.ImageIndex
	digest string
}

// prepare resolves the base of every platform, performs the Dockerfile
// on each and, for several platforms, makes the index; res collects the
// timings, the base digest, the sizes and the platforms' digests.
func (e *Executor) prepare(ctx context.Context, spec build.Spec, res *build.Result) (*prepared, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for _, c := range cleanups {
			c()
		}
	}
	if err := build.CheckSpec(spec); err != nil {
		return nil, cleanup, err
	}
	plan, err := analyze(spec)
	if err != nil {
		return nil, cleanup, err
	}
	snap := spec.Context.Snapshot()
	reg, err := e.registryFor(ctx, spec)
	if err != nil {
		return nil, cleanup, err
	}
	ready := &prepared{reg: reg}
	targets := e.targets(ctx, spec)
	for _, p := range targets {
		if err := p.require(plan); err != nil {
			return nil, cleanup, err
		}
	}
	// The platforms' images are independent: made side by side, each
	// with its own result, merged in the platforms' order.
	ready.images = make([]platformImage, len(targets))
	results := make([]*build.Result, len(targets))
	releases := make([]func(), len(targets))
	err = inParallel(len(targets), func(i int) error {
		results[i] = build.NewResult(build.ExecutorDirect)
		img, release, err := e.imageFor(ctx, reg, plan, snap, spec, targets[i], results[i])
		releases[i] = release
		ready.images[i] = platformImage{platform: targets[i].target, img: img}
		return err
	})
	cleanups = append(cleanups, releases...)
	if err != nil {
		return nil, cleanup, err
	}
	for _, r := range results {
		mergeResult(res, r)
	}
	if spec.MultiPlatform() {
		if ready.index, err = indexOf(ready.images, res); err != nil {
			return nil, cleanup, err
		}
		d, err := ready.index.Digest()
		if err != nil {
			return nil, cleanup, &build.Failure{Reason: build.ReasonDockerfile, Message: "computing the index digest", Err: err}
		}
		ready.digest = d.String()
		return ready, cleanup, nil
	}
	d, err := ready.images[0].img.Digest()
	if err != nil {
		return nil, cleanup, &build.Failure{Reason: build.ReasonDockerfile, Message: "computing the image digest", Err: err}
	}
	ready.digest = d.String()
	res.ImageSize = imageSize(ready.images[0].img)
	return ready, cleanup, nil
}

// targets are the platforms the build makes an image for: each of a
// multi-platform spec's (Kaniko runs each on a node of its own
// platform, so it is also the build platform), or the one Kaniko would
// take.
func (e *Executor) targets(ctx context.Context, spec build.Spec) []platforms {
	if !spec.MultiPlatform() {
		return []platforms{e.platformsFor(ctx, spec)}
	}
	// Kaniko builds every platform of a Dockerfile without RUN (all a
	// direct build performs) on whichever node its pod lands on, with
	// --custom-platform: BUILD* are those nodes' platform, when they
	// agree, whatever the target.
	nodes := e.platformsFor(ctx, build.Spec{Pod: spec.Pod})
	var out []platforms
	for _, p := range spec.TargetPlatforms() {
		out = append(out, platforms{target: p, build: nodes.build, unknown: nodes.unknown})
	}
	return out
}

// platformImage is one platform's image of a build, assembled.
type platformImage struct {
	platform string
	img      v1.Image
}

// imageFor resolves the base for one platform and performs the
// Dockerfile on it; res collects the timings and the base's digest.
func (e *Executor) imageFor(ctx context.Context, reg *registry.Client, plan *Plan, snap *buildcontext.Snapshot, spec build.Spec, p platforms, res *build.Result) (v1.Image, func(), error) {
	none := func() {}
	t := e.Now.Now()
	base, baseDigest, indexDigest, err := e.resolveBase(ctx, reg, plan, p, spec.Pin)
	if err != nil {
		return nil, none, err
	}
	res.BaseImageDigest, res.BaseImage = baseDigest.String(), plan.Base
	if spec.MultiPlatform() {
		res.BaseImageDigest = indexDigest.String()
	}
	baseCfg, err := base.ConfigFile()
	if err != nil {
		return nil, none, &build.Failure{Reason: build.ReasonBaseImage, Message: "reading the base image's config", Err: err}
	}
	if len(baseCfg.Config.OnBuild) > 0 {
		return nil, none, notEligible(&NotEligibleError{Instruction: "FROM", Reason: fmt.Sprintf("the base image %s has ONBUILD triggers, which need Kaniko", plan.Base)})
	}
	nodes, cached, err := baseIndex(base, e.IndexCacheDir)
	if err != nil {
		return nil, none, &build.Failure{Reason: build.ReasonBaseImage, Message: "reading the base image's file list", Err: err}
	}
	res.Timings[build.PhaseBaseImagePull] += e.Now.Now().Sub(t)
	e.logger().Step("base image resolved", "base", plan.Base, "platform", p.target, "digest", baseDigest.String(), "file_index_cached", cached)

	t = e.Now.Now()
	var platform *v1.Platform
	if spec.MultiPlatform() {
		if platform, err = v1.ParsePlatform(p.target); err != nil {
			return nil, none, &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
		}
	}
	img, cleanup, err := assemble(base, baseCfg, nodes, plan, snap, spec, p.predefinedArgs(), platform, e.layerCache(spec.KeepLayerTars))
	res.Timings[build.PhaseBuild] += e.Now.Now().Sub(t)
	if err != nil {
		var ne *NotEligibleError
		if errors.As(err, &ne) {
			return nil, cleanup, notEligible(err)
		}
		return nil, cleanup, &build.Failure{Reason: build.ReasonDockerfile, Message: "performing the Dockerfile", Err: err}
	}
	return img, cleanup, nil
}

// mergeResult adds what one platform's image made of the build to res:
// the base, and each phase's time as the longest of the platforms',
// which ran side by side.
func mergeResult(res, platform *build.Result) {
	if platform.BaseImageDigest != "" {
		res.BaseImageDigest, res.BaseImage = platform.BaseImageDigest, platform.BaseImage
	}
	for phase, d := range platform.Timings {
		if d > res.Timings[phase] {
			res.Timings[phase] = d
		}
	}
}

// imageSize is an image's compressed size: config and layers.
func imageSize(img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		return 0
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size
}

func notEligible(err error) error {
	return &build.Failure{Reason: build.ReasonNotEligible, Message: err.Error(), Err: err}
}

func (e *Executor) logger() build.Logger { return build.LoggerOr(e.Log) }
