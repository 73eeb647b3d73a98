package dockerfile

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// SourceOptions are what, besides the Dockerfile, decides the paths its
// COPY and ADD sources name in Kaniko.
type SourceOptions struct {
	// BuildArgs are the build's --build-arg values.
	BuildArgs map[string]string
	// Target is the stage to build; empty for the last.
	Target string
	// Predefined are the sets of values Kaniko's predefined platform
	// arguments (TARGETPLATFORM, TARGETARCH, BUILDPLATFORM, ...) may
	// take in the build; each set is tried. None leaves them unset.
	Predefined []map[string]string
	// Base returns the configuration of an image a stage starts from,
	// as Kaniko pulls it for the platform (TARGETPLATFORM of the set
	// tried, empty without one); false when it is not known, and then
	// the image is taken to have no environment and no ONBUILD triggers.
	Base func(ref, platform string) (BaseConfig, bool)
}

// BaseConfig is what of an image's configuration a stage built on it
// starts with.
type BaseConfig struct {
	// Env is the image's environment (KEY=value), seen by every
	// expansion of the stage.
	Env []string
	// OnBuild are its ONBUILD triggers, which Kaniko performs first.
	OnBuild []string
}

// Trigger is the ONBUILD instruction an instruction of a build comes
// from.
type Trigger struct {
	// Base is what the trigger belongs to: the stage of the Dockerfile
	// a later stage is built on (Stage true), or the image a stage
	// starts from.
	Base  string
	Stage bool
	// Line is the ONBUILD instruction's line for a stage's trigger, the
	// line of the FROM that pulls the image otherwise.
	Line int
}

// Source is one COPY or ADD source as Kaniko reads it: from the build
// context, or from the files of a stage or image (--from). ADD sources
// that Kaniko downloads are not sources.
type Source struct {
	// Instruction is COPY or ADD.
	Instruction string
	// Line is the instruction's line; for a trigger's instruction, the
	// line of the trigger's own Dockerfile.
	Line int
	// Written is the source as written; Path as Kaniko expands it
	// (cleaned, a trailing slash kept), or Written when the expansion
	// fails (Kaniko fails the build there).
	Written, Path string
	// From is the --from stage or image, empty for the context.
	From string
	// Trigger is the ONBUILD trigger the instruction comes from, nil
	// for the Dockerfile's own.
	Trigger *Trigger
}

// Leaves reports whether the source reads above the directory Kaniko
// joins it to: /kaniko/buildcontext for the context, /kaniko/deps/<from>
// for --from, where ../ reaches the registry credentials in
// /kaniko/.docker and the other stages' files. An absolute source is
// relative to that directory.
func (s Source) Leaves() bool {
	return climbs(s.Path) || (s.From != "" && climbs(s.From))
}

func climbs(p string) bool {
	if path.IsAbs(p) {
		return false
	}
	clean := path.Clean(p)
	return clean == ".." || strings.HasPrefix(clean, "../")
}

// EscapeError is a COPY or ADD source that leaves the build context, or
// the stage or image it copies from.
type EscapeError struct {
	Source
}

// Where names the source's instruction: its line, or the ONBUILD
// trigger it comes from.
func (s Source) Where() string {
	switch t := s.Trigger; {
	case t == nil:
		return fmt.Sprintf("%s on line %d", s.Instruction, s.Line)
	case t.Stage:
		return fmt.Sprintf("%s of the ONBUILD trigger on line %d (of stage %s, performed by the stages built on it)", s.Instruction, t.Line, t.Base)
	default:
		return fmt.Sprintf("%s of an ONBUILD trigger of the base image %s (FROM on line %d)", s.Instruction, t.Base, t.Line)
	}
}

func (e *EscapeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: the source %s", e.Where(), e.Written)
	if e.Path != e.Written {
		fmt.Fprintf(&b, " (%s once expanded)", e.Path)
	}
	if e.From == "" {
		b.WriteString(" leaves the build context; sources are paths inside the context")
	} else {
		fmt.Fprintf(&b, " leaves the files of --from=%s, which Kaniko keeps next to its own (registry credentials included); sources are paths inside the stage or image they copy from", e.From)
	}
	return b.String()
}

// CheckSources reports a COPY or ADD source that leaves the build
// context, or the stage or image it copies from (Source.Leaves): Kaniko
// would read such a path from its own file system, where the registry
// credentials and build secrets are mounted, and the direct executor
// would read the wrong file. Sources are expanded as Kaniko expands them
// (see Sources); a Dockerfile that does not parse is left to the build
// to report.
func CheckSources(dockerfile []byte, opts SourceOptions) error {
	for _, s := range Sources(dockerfile, opts) {
		if s.Leaves() {
			return &EscapeError{Source: s}
		}
	}
	return nil
}

// Sources lists the COPY and ADD sources of every stage with their paths
// as Kaniko expands them: ARG and ENV values expanded where they are
// declared, build arguments over defaults, meta ARGs expanded with the
// ones before them, the environment of the stage or image a stage starts
// from, the ARGs of the stages Kaniko built before (it carries them
// over), and the ONBUILD triggers of the stage or image a stage starts
// from performed first. Stages are taken in the order Kaniko builds them
// by default (the stages the target needs, a base used once merged into
// the stage built on it) and, in case that changes, in the Dockerfile's
// order, each one; a source is listed once for every path it may take.
// The list is sorted by line; nil for a Dockerfile that does not parse.
func Sources(dockerfile []byte, opts SourceOptions) []Source {
	p, ok := parseForKaniko(dockerfile, opts)
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	var out []Source
	predefined := opts.Predefined
	if len(predefined) == 0 {
		predefined = []map[string]string{nil}
	}
	for _, order := range p.orders() {
		// A run depends on the predefined arguments it consulted only:
		// a set that agrees with an earlier run on those is that run.
		type done struct {
			set       map[string]string
			consulted map[string]bool
		}
		var runs []done
	sets:
		for _, pre := range predefined {
			for _, r := range runs {
				same := true
				for key := range r.consulted {
					a, aok := r.set[key]
					b, bok := pre[key]
					same = same && a == b && aok == bok
				}
				if same {
					continue sets
				}
			}
			consulted := p.run(order, pre, opts, func(s Source) {
				key := fmt.Sprintf("%s\x00%d\x00%v\x00%s\x00%s\x00%s", s.Instruction, s.Line, triggerKey(s.Trigger), s.From, s.Written, s.Path)
				if !seen[key] {
					seen[key] = true
					out = append(out, s)
				}
			})
			runs = append(runs, done{pre, consulted})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return sourceLine(out[i]) < sourceLine(out[j]) })
	return out
}

func triggerKey(t *Trigger) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("%s/%v/%d", t.Base, t.Stage, t.Line)
}

// sourceLine is the line of the Dockerfile a source comes from.
func sourceLine(s Source) int {
	if s.Trigger != nil {
		return s.Trigger.Line
	}
	return s.Line
}

// Bases lists the images Kaniko pulls for the stages it builds (the
// stages Sources takes), FROM expanded as Kaniko expands it; scratch and
// earlier stages are not images. Sorted, each once; nil for a
// Dockerfile that does not parse.
func Bases(dockerfile []byte, opts SourceOptions) []string {
	p, ok := parseForKaniko(dockerfile, opts)
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, order := range p.orders() {
		for _, s := range order {
			if s.baseIndex >= 0 {
				continue
			}
			if ref := pulledBase(s.base, p.meta, p.buildArgs); ref != "scratch" && !seen[ref] {
				seen[ref] = true
				out = append(out, ref)
			}
		}
	}
	sort.Strings(out)
	return out
}

// kanikoDockerfile is a Dockerfile as Kaniko's ParseStages reads it.
type kanikoDockerfile struct {
	stages []instructions.Stage
	meta   []instructions.ArgCommand
	// buildArgs are the --build-arg values as Kaniko receives them.
	buildArgs []string
	// target is the target stage's index, or -1 for one the Dockerfile
	// does not have (Kaniko builds nothing).
	target int
}

func parseForKaniko(dockerfile []byte, opts SourceOptions) (*kanikoDockerfile, bool) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, false
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil || len(stages) == 0 {
		return nil, false
	}
	k := &kanikoDockerfile{stages: stages, meta: meta, target: len(stages) - 1}
	keys := make([]string, 0, len(opts.BuildArgs))
	for key := range opts.BuildArgs {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		k.buildArgs = append(k.buildArgs, key+"="+opts.BuildArgs[key])
	}
	// Kaniko fails the build on an error here; the values are then taken
	// as written, which can only check more.
	if err := stripEnclosingQuotes(k.meta); err == nil {
		_ = expandNestedArgs(k.meta, k.buildArgs)
	}
	if opts.Target != "" {
		k.target = -1
		for i, s := range stages {
			if strings.EqualFold(s.Name, opts.Target) {
				k.target = i
				break
			}
		}
	}
	return k, true
}

// orders are the sequences of stages Sources performs: the one Kaniko
// performs by default, and every stage in the Dockerfile's order.
func (k *kanikoDockerfile) orders() [][]kanikoStage {
	all := kanikoStages(k.stages, k.meta, k.buildArgs, len(k.stages)-1)
	if k.target < 0 {
		return [][]kanikoStage{all}
	}
	return [][]kanikoStage{skipUnusedStages(all, k.target), all}
}

// targetStage is TARGETSTAGE: the name of the stage built last.
func (k *kanikoDockerfile) targetStage() string {
	t := k.target
	if t < 0 {
		t = len(k.stages) - 1
	}
	if name := k.stages[t].Name; name != "" {
		return name
	}
	return "default"
}

// run performs the variables of a sequence of stages as Kaniko's DoBuild
// does, and reports every COPY and ADD source. It returns the
// predefined arguments it consulted.
func (k *kanikoDockerfile) run(order []kanikoStage, predefined map[string]string, opts SourceOptions, visit func(Source)) map[string]bool {
	pre := map[string]string{"TARGETSTAGE": k.targetStage()}
	for key, v := range predefined {
		pre[key] = v
	}
	args := newKanikoArgs(opts.BuildArgs, pre)
	consulted := args.consulted
	envAt := map[int][]string{}
	for _, s := range order {
		args = args.clone()
		args.addMetaArgs(k.meta)
		env := scratchEnv
		cmds := s.commands
		if s.baseIndex >= 0 {
			if e, ok := envAt[s.baseIndex]; ok {
				env = e
			}
		} else if ref := pulledBase(s.base, k.meta, k.buildArgs); ref != "scratch" && opts.Base != nil {
			consulted["TARGETPLATFORM"] = true
			if cfg, ok := opts.Base(ref, predefined["TARGETPLATFORM"]); ok {
				if cfg.Env != nil {
					env = cfg.Env
				}
				// A trigger that does not parse fails Kaniko's build.
				if triggers, _, err := parseTriggers(cfg.OnBuild); err == nil {
					var first []command
					for _, c := range triggers {
						first = append(first, command{c, &Trigger{Base: ref, Line: s.fromLine}})
					}
					cmds = append(first, cmds...)
				}
			}
		}
		for _, c := range cmds {
			switch cmd := c.Command.(type) {
			case *instructions.ArgCommand:
				for _, kv := range cmd.Args {
					if err := args.arg(kv, env); err != nil {
						// Kaniko stops here; going on as written checks more.
						args.allowed[kv.Key] = kv.Value
					}
				}
			case *instructions.EnvCommand:
				if e, err := updateEnv(cmd.Env, env, args.replacementEnvs(env)); err == nil {
					env = e
				} else {
					// Kaniko stops here; going on as written checks more.
					env = setEnvAsWritten(cmd.Env, env)
				}
			case *instructions.CopyCommand:
				k.sources("COPY", c, cmd.SourcePaths, cmd.From, args.replacementEnvs(env), visit)
			case *instructions.AddCommand:
				k.sources("ADD", c, cmd.SourcePaths, "", args.replacementEnvs(env), visit)
			}
		}
		envAt[s.index] = env
	}
	return consulted
}

// sources reports one instruction's sources, expanded with envs.
func (k *kanikoDockerfile) sources(instruction string, c command, written []string, from string, envs []string, visit func(Source)) {
	for _, w := range written {
		p, err := resolveWord(w, envs, true)
		if err != nil {
			p = w
		}
		if instruction == "ADD" && isRemoteURL(p) {
			continue // downloaded, not read from the context
		}
		visit(Source{Instruction: instruction, Line: line(c.Location()), Written: w, Path: p, From: from, Trigger: c.trigger})
	}
}

// line is the first line of a location, or 0.
func line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// HasRun reports whether any stage of a Dockerfile runs commands (RUN),
// which needs a node of the target platform; false for a Dockerfile that
// does not parse, which the build reports.
func HasRun(dockerfile []byte) bool {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return false
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return false
	}
	for _, s := range stages {
		for _, cmd := range s.Commands {
			if _, ok := cmd.(*instructions.RunCommand); ok {
				return true
			}
		}
	}
	return false
}
