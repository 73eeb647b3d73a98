package direct

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/sys/signal"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// scratchEnv is the environment Kaniko gives an image whose base sets
// none.
var scratchEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// Executor builds eligible Dockerfiles without a pod.
type Executor struct {
	// Registry reaches the base image's and the target's registries from
	// this machine, with their credentials.
	Registry *registry.Client
	// IndexCacheDir keeps the file metadata of base images, by digest;
	// empty disables the cache.
	IndexCacheDir string
	// DefaultPlatform picks the platform of a multi-platform base when
	// the spec names none, as os/arch[/variant]. Kaniko uses its node's.
	DefaultPlatform func(ctx context.Context) string
	// Secrets reads a Secret's data in a namespace, for the registry
	// credentials of spec.Registry.AuthSecret; nil when no cluster is
	// configured.
	Secrets func(ctx context.Context, namespace, name string) (map[string][]byte, error)
	Log     build.Logger
	Now     build.Clock
}

var _ build.Executor = (*Executor)(nil)

// Eligible reports why the spec cannot be built directly, or nil: the
// Dockerfile's instructions (read from the snapshot), then whether the
// registries of the base and the target answer from this machine.
func (e *Executor) Eligible(ctx context.Context, spec build.Spec) error {
	if spec.Snapshot == nil {
		return Check(nil, spec)
	}
	dockerfile, err := spec.Snapshot.ReadFile(spec.Snapshot.Dockerfile)
	if err != nil {
		return err
	}
	if err := Check(dockerfile, spec); err != nil {
		return err
	}
	plan, err := Analyze(dockerfile, spec.BuildArgs, spec.Target)
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
		return nil, &build.Failure{Reason: build.ReasonSecretMissing, Message: "registry_auth_secret needs a cluster to read it from"}
	}
	data, err := e.Secrets(ctx, spec.Namespace, name)
	if err != nil {
		return nil, &build.Failure{Reason: build.ReasonSecretMissing, Message: fmt.Sprintf("reading secret %q in namespace %q", name, spec.Namespace), Err: err}
	}
	for _, key := range []string{".dockerconfigjson", "config.json"} {
		if cfg, ok := data[key]; ok {
			kc, err := registry.DockerConfigKeychain(cfg, e.Registry.Hosts)
			if err != nil {
				return nil, &build.Failure{Reason: build.ReasonSecretMissing, Message: fmt.Sprintf("secret %q", name), Err: err}
			}
			return e.Registry.WithKeychain(kc), nil
		}
	}
	return nil, &build.Failure{Reason: build.ReasonSecretMissing, Message: fmt.Sprintf("secret %q has neither a .dockerconfigjson nor a config.json key", name)}
}

// Check reports whether the spec's Dockerfile can be built directly,
// reading only the Dockerfile. A *NotEligibleError says why not.
func Check(dockerfile []byte, spec build.Spec) error {
	if spec.ContextURL != "" {
		return &NotEligibleError{Reason: "a context_url is fetched by Kaniko inside the cluster; a direct build needs a local context"}
	}
	if len(spec.Secrets) > 0 {
		return &NotEligibleError{Reason: "build secrets are for RUN steps, which need Kaniko"}
	}
	_, err := Analyze(dockerfile, spec.BuildArgs, spec.Target)
	return err
}

// Build assembles and pushes the image.
func (e *Executor) Build(ctx context.Context, spec build.Spec) (*build.Result, error) {
	res := &build.Result{Executor: build.ExecutorDirect, Timings: build.Timings{}}
	start := e.Now.Now()
	if err := spec.Validate(); err != nil {
		return res, &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
	}
	if spec.Source == nil && spec.Snapshot == nil {
		return res, notEligible(&NotEligibleError{Reason: "a context_url is fetched by Kaniko inside the cluster; a direct build needs a local context"})
	}
	spec, cleanup, err := build.TakeSnapshot(spec)
	defer cleanup()
	if err != nil {
		return res, err
	}
	snap := spec.Snapshot
	res.ContextSHA256 = snap.SHA256
	dockerfile, err := snap.ReadFile(snap.Dockerfile)
	if err != nil {
		return res, &build.Failure{Reason: build.ReasonContextRead, Message: "reading the Dockerfile from the context", Err: err}
	}
	if err := Check(dockerfile, spec); err != nil {
		return res, notEligible(err)
	}
	plan, err := Analyze(dockerfile, spec.BuildArgs, spec.Target)
	if err != nil {
		return res, notEligible(err)
	}

	reg, err := e.registryFor(ctx, spec)
	if err != nil {
		return res, err
	}
	t := e.Now.Now()
	base, baseDigest, err := e.resolveBase(ctx, reg, plan, spec)
	if err != nil {
		return res, err
	}
	res.BaseImageDigest = baseDigest.String()
	baseCfg, err := base.ConfigFile()
	if err != nil {
		return res, &build.Failure{Reason: build.ReasonBaseImage, Message: "reading the base image's config", Err: err}
	}
	if len(baseCfg.Config.OnBuild) > 0 {
		return res, notEligible(&NotEligibleError{Instruction: "FROM", Reason: fmt.Sprintf("the base image %s has ONBUILD triggers, which need Kaniko", plan.Base)})
	}
	nodes, cached, err := baseIndex(base, e.IndexCacheDir)
	if err != nil {
		return res, &build.Failure{Reason: build.ReasonBaseImage, Message: "reading the base image's file list", Err: err}
	}
	res.Timings[build.PhaseBaseImagePull] = e.Now.Now().Sub(t)
	e.logger().Step("base image resolved", "base", plan.Base, "digest", res.BaseImageDigest, "file_index_cached", cached)

	t = e.Now.Now()
	index, err := snap.Index()
	if err != nil {
		return res, &build.Failure{Reason: build.ReasonContextRead, Err: err}
	}
	a := &assembly{
		state:   &stageState{tree: newTree(nodes), ctx: newContextFiles(index), workDir: baseCfg.Config.WorkingDir, user: baseCfg.Config.User},
		cfg:     baseCfg.DeepCopy(),
		plan:    plan,
		snap:    snap,
		created: spec.Created.UTC(),
		args:    map[string]*string{},
		media:   layerMediaType(base),
	}
	defer a.cleanup()
	if a.cfg.Config.Env == nil {
		a.cfg.Config.Env = append([]string(nil), scratchEnv...)
	}
	// Kaniko applies --label before the Dockerfile's own LABELs.
	if len(spec.Labels) > 0 && a.cfg.Config.Labels == nil {
		a.cfg.Config.Labels = map[string]string{}
	}
	for k, v := range spec.Labels {
		a.cfg.Config.Labels[k] = v
	}
	img, err := a.run(base)
	if err != nil {
		var ne *NotEligibleError
		if errors.As(err, &ne) {
			return res, notEligible(err)
		}
		return res, &build.Failure{Reason: build.ReasonInvalidRequest, Message: "performing the Dockerfile", Err: err}
	}
	res.Timings[build.PhaseBuild] = e.Now.Now().Sub(t)

	t = e.Now.Now()
	digest, err := e.push(ctx, reg, img, spec)
	if err != nil {
		return res, err
	}
	res.Timings[build.PhasePush] = e.Now.Now().Sub(t)
	res.Timings[build.PhaseTotal] = e.Now.Now().Sub(start)
	res.Digest = digest
	res.Tags = append([]string(nil), spec.Tags...)
	if m, err := img.Manifest(); err == nil {
		res.ImageSize = m.Config.Size
		for _, l := range m.Layers {
			res.ImageSize += l.Size
		}
	}
	e.logger().Step("image pushed", "digest", digest, "seconds", res.Timings[build.PhaseTotal].Seconds(), "executor", build.ExecutorDirect)
	return res, nil
}

func notEligible(err error) error {
	return &build.Failure{Reason: build.ReasonNotEligible, Message: err.Error(), Err: err}
}

func (e *Executor) logger() build.Logger { return build.LoggerOr(e.Log) }

// resolveBase finds the base manifest for the build's platform.
func (e *Executor) resolveBase(ctx context.Context, reg *registry.Client, plan *Plan, spec build.Spec) (v1.Image, v1.Hash, error) {
	ref, err := reg.Reference(ctx, plan.Base)
	if err != nil {
		return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
	}
	desc, err := remote.Get(ref, reg.RemoteOptions(ctx)...)
	if err != nil {
		return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: fmt.Sprintf("FROM %s (contacted as %s)", plan.Base, ref), Err: err}
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
		}
		return img, desc.Digest, nil
	}
	platform := spec.Platform
	if platform == "" {
		platform = plan.BasePlatform
	}
	if platform == "" && e.DefaultPlatform != nil {
		platform = e.DefaultPlatform(ctx)
	}
	want, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonInvalidRequest, Message: "platform " + platform, Err: err}
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
	}
	for _, m := range manifest.Manifests {
		if m.Platform != nil && m.Platform.Satisfies(*want) {
			img, err := idx.Image(m.Digest)
			if err != nil {
				return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: "FROM " + plan.Base, Err: err}
			}
			return img, m.Digest, nil
		}
	}
	return nil, v1.Hash{}, &build.Failure{Reason: build.ReasonBaseImage, Message: fmt.Sprintf("FROM %s has no image for platform %s", plan.Base, platform)}
}

// push writes the image under its first tag, which uploads only what the
// registry lacks (base layers from the same registry are mounted, from
// another one streamed once), then points the other tags at it.
func (e *Executor) push(ctx context.Context, reg *registry.Client, img v1.Image, spec build.Spec) (string, error) {
	digest, err := img.Digest()
	if err != nil {
		return "", &build.Failure{Reason: build.ReasonRegistry, Err: err}
	}
	opts := reg.RemoteOptions(ctx)
	for i, tag := range spec.Tags {
		ref, err := reg.Reference(ctx, spec.Repository+":"+tag)
		if err != nil {
			return "", &build.Failure{Reason: build.ReasonInvalidRequest, Err: err}
		}
		if i == 0 {
			err = remote.Write(ref, img, opts...)
		} else {
			err = remote.Tag(ref.(name.Tag), img, opts...)
		}
		if err != nil {
			return "", &build.Failure{Reason: build.ReasonRegistry, Message: "pushing " + ref.String(), Err: err}
		}
	}
	return digest.String(), nil
}

func layerMediaType(img v1.Image) types.MediaType {
	if mt, err := img.MediaType(); err == nil && mt == types.OCIManifestSchema1 {
		return types.OCILayer
	}
	return types.DockerLayer
}

// assembly is one direct build in progress.
type assembly struct {
	state    *stageState
	cfg      *v1.ConfigFile
	plan     *Plan
	snap     *buildcontext.Snapshot
	created  time.Time
	args     map[string]*string
	media    types.MediaType
	cleanups []func()
	adds     []mutate.Addendum
}

func (a *assembly) cleanup() {
	for _, c := range a.cleanups {
		c()
	}
}

// env is the environment instructions are expanded with: the image's
// ENV, then the declared build arguments that ENV does not shadow.
func (a *assembly) env() shell.EnvGetter {
	env := append([]string(nil), a.cfg.Config.Env...)
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for k, v := range a.args {
		if v != nil && !set[k] {
			env = append(env, k+"="+*v)
		}
	}
	return shell.EnvsFromSlice(env)
}

func (a *assembly) expand(word string) (string, error) {
	out, _, err := shell.NewLex(a.plan.escape).ProcessWord(word, a.env())
	return out, err
}

func (a *assembly) expandPath(word string) (string, error) {
	out, err := a.expand(word)
	if err != nil {
		return "", err
	}
	return cleanFilepath(out), nil
}

// run performs the stage's instructions on the base and returns the
// image.
func (a *assembly) run(base v1.Image) (v1.Image, error) {
	entrypoint, cmdSet := false, false
	for _, cmd := range a.plan.Commands {
		if err := a.perform(cmd); err != nil {
			return nil, &instructionError{cmd: cmd, err: err}
		}
		switch cmd.(type) {
		case *instructions.EntrypointCommand:
			entrypoint = true
		case *instructions.CmdCommand:
			cmdSet = true
		}
	}
	// An ENTRYPOINT without a CMD in the same Dockerfile clears the
	// base's CMD, as Docker and Kaniko do.
	if entrypoint && !cmdSet {
		a.cfg.Config.Cmd = nil
	}
	img, err := mutate.Append(base, a.adds...)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Config = a.cfg.Config
	cfg.Created = v1.Time{Time: a.created}
	cfg.Config.OnBuild = nil
	return mutate.ConfigFile(img, cfg)
}

// instructionError names the instruction that failed.
type instructionError struct {
	cmd instructions.Command
	err error
}

func (e *instructionError) Error() string {
	return fmt.Sprintf("%s on line %d: %v", strings.ToUpper(e.cmd.Name()), line(e.cmd.Location()), e.err)
}

func (e *instructionError) Unwrap() error { return e.err }

// perform applies one instruction.
func (a *assembly) perform(cmd instructions.Command) error {
	c := &a.cfg.Config
	switch cmd := cmd.(type) {
	case *instructions.ArgCommand:
		for _, kv := range cmd.Args {
			key, err := a.expand(kv.Key)
			if err != nil {
				return err
			}
			var value *string
			if given, ok := a.plan.given[key]; ok {
				value = &given
			} else if kv.Value != nil {
				v, err := a.expand(*kv.Value)
				if err != nil {
					return err
				}
				value = &v
			} else if meta, ok := a.plan.metaArgs[key]; ok {
				value = &meta
			}
			a.args[key] = value
		}
		return a.history(cmd, nil)
	case *instructions.EnvCommand:
		for _, kv := range cmd.Env {
			k, err := a.expand(kv.Key)
			if err != nil {
				return err
			}
			v, err := a.expand(kv.Value)
			if err != nil {
				return err
			}
			c.Env = setEnv(c.Env, k, v)
		}
		return a.history(cmd, nil)
	case *instructions.LabelCommand:
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for _, kv := range cmd.Labels {
			k, err := a.expand(kv.Key)
			if err != nil {
				return err
			}
			v, err := a.expand(kv.Value)
			if err != nil {
				return err
			}
			c.Labels[k] = v
		}
		return a.history(cmd, nil)
	case *instructions.WorkdirCommand:
		p, err := a.expandPath(cmd.Path)
		if err != nil {
			return err
		}
		if err := a.state.workdir(p); err != nil {
			return err
		}
		c.WorkingDir = a.state.workDir
		return a.layer(cmd)
	case *instructions.CopyCommand:
		srcs := make([]string, len(cmd.SourcePaths))
		for i, s := range cmd.SourcePaths {
			var err error
			if srcs[i], err = a.expandPath(s); err != nil {
				return err
			}
		}
		dest, err := a.expandPath(cmd.DestPath)
		if err != nil {
			return err
		}
		chown, err := a.expand(cmd.Chown)
		if err != nil {
			return err
		}
		chmod, err := a.expand(cmd.Chmod)
		if err != nil {
			return err
		}
		if chown != "" {
			if _, _, err := numericOwner(chown); err != nil {
				return &NotEligibleError{Instruction: "COPY", Line: line(cmd.Location()), Reason: "--chown=" + chown + " names a user or group; a direct build takes numeric ids only"}
			}
		}
		if _, _, err := activeOwner(a.state.user, chown); err != nil {
			return &NotEligibleError{Instruction: "COPY", Line: line(cmd.Location()),
				Reason: "the image's USER " + a.state.user + " is a name, which only the image's /etc/passwd resolves; Kaniko does that, a direct build takes numeric ids only"}
		}
		if err := a.state.copyCommand(srcs, dest, chown, chmod); err != nil {
			return err
		}
		return a.layer(cmd)
	case *instructions.UserCommand:
		user, group, hasGroup := strings.Cut(cmd.User, ":")
		u, err := a.expand(user)
		if err != nil {
			return err
		}
		if hasGroup {
			g, err := a.expand(group)
			if err != nil {
				return err
			}
			u += ":" + g
		}
		c.User, a.state.user = u, u
		return a.history(cmd, nil)
	case *instructions.ExposeCommand:
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range cmd.Ports {
			p, err := a.expand(p)
			if err != nil {
				return err
			}
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			if proto := strings.SplitN(p, "/", 2)[1]; proto != "tcp" && proto != "udp" {
				return fmt.Errorf("invalid protocol: %s", proto)
			}
			c.ExposedPorts[p] = struct{}{}
		}
		return a.history(cmd, nil)
	case *instructions.VolumeCommand:
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range cmd.Volumes {
			v, err := a.expandPath(v)
			if err != nil {
				return err
			}
			c.Volumes[v] = struct{}{}
		}
		return a.history(cmd, nil)
	case *instructions.EntrypointCommand:
		c.Entrypoint = a.commandLine(cmd.ShellDependantCmdLine)
		return a.history(cmd, nil)
	case *instructions.CmdCommand:
		c.Cmd = a.commandLine(cmd.ShellDependantCmdLine)
		c.ArgsEscaped = false
		return a.history(cmd, nil)
	case *instructions.StopSignalCommand:
		sig, err := a.expand(cmd.Signal)
		if err != nil {
			return err
		}
		if _, err := signal.ParseSignal(sig); err != nil {
			return err
		}
		c.StopSignal = sig
		return a.history(cmd, nil)
	case *instructions.ShellCommand:
		c.Shell = cmd.Shell
		return a.history(cmd, nil)
	}
	return &NotEligibleError{Instruction: strings.ToUpper(cmd.Name()), Line: line(cmd.Location()), Reason: "not performed by a direct build"}
}

// commandLine is ENTRYPOINT's or CMD's value: exec form as written, shell
// form wrapped in the image's SHELL (or /bin/sh -c).
func (a *assembly) commandLine(cl instructions.ShellDependantCmdLine) []string {
	if !cl.PrependShell {
		return append([]string{}, cl.CmdLine...)
	}
	sh := a.cfg.Config.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string(nil), sh...), strings.Join(cl.CmdLine, " "))
}

// setEnv replaces KEY in env in place or appends it, keeping the order.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// layer turns the tree's changes since the last layer into one.
func (a *assembly) layer(cmd instructions.Command) error {
	paths := a.state.tree.takeChanges()
	if len(paths) == 0 {
		return a.history(cmd, nil)
	}
	l, cleanup, err := writeLayer("", a.state.tree, paths, a.snap, a.state.ctx, a.media)
	if err != nil {
		return err
	}
	a.cleanups = append(a.cleanups, cleanup)
	return a.history(cmd, l)
}

// history records an instruction in the image's history, with the fixed
// creation time, and its layer if it made one.
func (a *assembly) history(cmd instructions.Command, l v1.Layer) error {
	h := v1.History{Created: v1.Time{Time: a.created}, CreatedBy: createdBy(cmd), Comment: "onesbuild direct"}
	if l == nil {
		h.EmptyLayer = true
	}
	a.adds = append(a.adds, mutate.Addendum{Layer: l, History: h, MediaType: a.media})
	return nil
}

func createdBy(cmd instructions.Command) string {
	type stringer interface{ String() string }
	if s, ok := cmd.(stringer); ok {
		return s.String()
	}
	return strings.ToUpper(cmd.Name())
}
