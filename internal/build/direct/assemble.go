package direct

import (
	"fmt"
	"maps"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/sys/signal"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// scratchEnv is the environment Kaniko gives an image whose base sets
// none.
var scratchEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// assemble performs the Dockerfile's instructions on the base and
// returns the image; cleanup removes the layer files it wrote.
func assemble(base v1.Image, baseCfg *v1.ConfigFile, nodes map[string]*node, plan *Plan, snap *buildcontext.Snapshot, spec build.Spec, predefined map[string]string, platform *v1.Platform, layers *layerCache) (v1.Image, func(), error) {
	index, err := snap.Index()
	if err != nil {
		return nil, func() {}, err
	}
	a := &assembly{
		state:      &stageState{tree: newTree(nodes), ctx: newContextFiles(index), workDir: baseCfg.Config.WorkingDir, user: baseCfg.Config.User},
		cfg:        baseCfg.DeepCopy(),
		plan:       plan,
		snap:       snap,
		created:    spec.Created.UTC(),
		args:       map[string]*string{},
		predefined: withTargetStage(predefined, plan.targetStage),
		platform:   platform,
		media:      layerMediaType(base),
		layers:     layers,
	}
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
	return img, a.cleanup, err
}

// assembly is one direct build in progress.
type assembly struct {
	state   *stageState
	cfg     *v1.ConfigFile
	plan    *Plan
	snap    *buildcontext.Snapshot
	created time.Time
	args    map[string]*string
	// predefined are Kaniko's predefined arguments (the platform's), the
	// value of an ARG declared without one.
	predefined map[string]string
	// platform is the platform of an image made for an index.
	platform *v1.Platform
	media    types.MediaType
	// layers is where the layers are kept, nil for temporary files.
	layers   *layerCache
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
	return a.expandWith(word, a.env())
}

// expandWith expands word as Kaniko does: with the default escape
// token, whatever the escape directive says.
func (a *assembly) expandWith(word string, env shell.EnvGetter) (string, error) {
	out, _, err := shell.NewLex(parser.DefaultEscapeToken).ProcessWord(word, env)
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
	if a.platform != nil {
		// One image of an index: its config says the platform the index
		// lists it for, whatever the base's says.
		cfg.OS, cfg.Architecture, cfg.Variant = a.platform.OS, a.platform.Architecture, a.platform.Variant
	}
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
			} else if meta, ok := a.plan.metaArgs[key]; ok && a.plan.metaSet[key] {
				value = &meta
			} else if v, ok := a.predefined[key]; ok {
				value = &v
			}
			a.args[key] = value
		}
		return a.history(cmd, nil)
	case *instructions.EnvCommand:
		// Every pair is expanded against the environment from before the
		// instruction: ENV a=1 b=$a sets b from the previous a.
		before := a.env()
		type pair struct{ k, v string }
		pairs := make([]pair, 0, len(cmd.Env))
		for _, kv := range cmd.Env {
			k, err := a.expandWith(kv.Key, before)
			if err != nil {
				return err
			}
			v, err := a.expandWith(kv.Value, before)
			if err != nil {
				return err
			}
			pairs = append(pairs, pair{k, v})
		}
		for _, p := range pairs {
			c.Env = setEnv(c.Env, p.k, p.v)
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
	l, cleanup, err := writeLayer(a.layers, a.state.tree, paths, a.snap, a.state.ctx, a.media)
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

// withTargetStage adds Kaniko's TARGETSTAGE: the name of the stage built
// last, "default" when it has none.
func withTargetStage(predefined map[string]string, stage string) map[string]string {
	out := maps.Clone(predefined)
	if out == nil {
		out = map[string]string{}
	}
	out["TARGETSTAGE"] = stage
	return out
}
