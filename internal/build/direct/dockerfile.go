package direct

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// NotEligibleError says why a Dockerfile cannot be built directly,
// naming the instruction and its line where there is one.
type NotEligibleError struct {
	// Instruction is the instruction as written (upper case), or empty
	// for a problem of the whole Dockerfile.
	Instruction string
	// Line is the instruction's first line, 1-based; 0 when unknown.
	Line   int
	Reason string
}

func (e *NotEligibleError) Error() string {
	switch {
	case e.Instruction != "" && e.Line > 0:
		return fmt.Sprintf("%s on line %d: %s", e.Instruction, e.Line, e.Reason)
	case e.Instruction != "":
		return e.Instruction + ": " + e.Reason
	}
	return e.Reason
}

// eligibleInstructions are those a direct build performs.
var eligibleInstructions = map[string]bool{
	"arg": true, "env": true, "label": true, "workdir": true, "copy": true, "user": true, "expose": true,
	"volume": true, "entrypoint": true, "cmd": true, "stopsignal": true, "shell": true,
}

// Plan is an eligible Dockerfile, parsed.
type Plan struct {
	// Base is the FROM reference with build arguments expanded.
	Base string
	// Commands are the stage's instructions, in order.
	Commands []instructions.Command
	// metaArgs are the build arguments in effect: the values given, for
	// the ARGs the Dockerfile declares (meta ARGs before FROM included).
	metaArgs map[string]string
	// metaSet are the meta ARGs with a value (a default or a given one):
	// an ARG in the stage takes its value from them, else from Kaniko's
	// predefined arguments.
	metaSet map[string]bool
	given   map[string]string
	// platformArgs are the predefined platform arguments the stage
	// declares and the build does not give.
	platformArgs []string
	// targetStage is Kaniko's TARGETSTAGE: the stage's name, else
	// "default".
	targetStage string
}

// Analyze parses a Dockerfile with BuildKit's parser and decides whether
// a direct build can perform it. buildArgs are the values given with the
// build; target selects a stage and must name the only stage, if set.
func Analyze(dockerfile []byte, buildArgs map[string]string, target string) (*Plan, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		var unknown *instructions.UnknownInstructionError
		if errors.As(err, &unknown) {
			return nil, &NotEligibleError{Instruction: strings.ToUpper(unknown.Instruction), Line: unknown.Line, Reason: "not a Dockerfile instruction"}
		}
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	if len(stages) == 0 {
		return nil, &NotEligibleError{Reason: "the Dockerfile has no FROM"}
	}
	if len(stages) > 1 {
		return nil, &NotEligibleError{Instruction: "FROM", Line: line(stages[1].Location),
			Reason: fmt.Sprintf("the Dockerfile has %d stages; a direct build performs a single stage", len(stages))}
	}
	stage := stages[0]
	if target != "" && target != stage.Name {
		return nil, &NotEligibleError{Reason: fmt.Sprintf("target %q is not the Dockerfile's stage", target)}
	}
	p := &Plan{metaArgs: map[string]string{}, metaSet: map[string]bool{}, given: buildArgs, targetStage: stage.Name}
	if p.targetStage == "" {
		p.targetStage = "default"
	}
	// Kaniko expands words with the default escape token whatever the
	// escape directive says; the directive only shapes parsing.
	lex := shell.NewLex(parser.DefaultEscapeToken)
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			v := ""
			if kv.Value != nil {
				if v, _, err = lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(p.metaEnv())); err != nil {
					return nil, fmt.Errorf("expanding ARG %s: %w", kv.Key, err)
				}
			}
			if given, ok := buildArgs[kv.Key]; ok {
				v = given
			}
			p.metaArgs[kv.Key] = v
			_, isGiven := buildArgs[kv.Key]
			p.metaSet[kv.Key] = kv.Value != nil || isGiven
		}
	}
	if p.Base, _, err = lex.ProcessWord(stage.BaseName, shell.EnvsFromSlice(p.metaEnv())); err != nil {
		return nil, fmt.Errorf("expanding FROM %s: %w", stage.BaseName, err)
	}
	if p.Base == "" || strings.EqualFold(p.Base, "scratch") {
		return nil, &NotEligibleError{Instruction: "FROM", Line: line(stage.Location), Reason: "FROM scratch is built by Kaniko; a direct build appends to a base image"}
	}
	if stage.Platform != "" {
		return nil, &NotEligibleError{Instruction: "FROM", Line: line(stage.Location),
			Reason: "FROM --platform: Kaniko pulls the base for the build's target platform and ignores --platform; set the build's platform instead"}
	}
	for _, cmd := range stage.Commands {
		if err := eligible(cmd); err != nil {
			return nil, err
		}
		if arg, ok := cmd.(*instructions.ArgCommand); ok {
			for _, kv := range arg.Args {
				if _, isGiven := buildArgs[kv.Key]; platformArgs[kv.Key] && kv.Value == nil && !isGiven && !p.metaSet[kv.Key] {
					p.platformArgs = append(p.platformArgs, kv.Key)
				}
			}
		}
	}
	p.Commands = stage.Commands
	return p, nil
}

// eligible checks one instruction.
func eligible(cmd instructions.Command) error {
	name := strings.ToLower(cmd.Name())
	notEligible := func(reason string) error {
		return &NotEligibleError{Instruction: strings.ToUpper(name), Line: line(cmd.Location()), Reason: reason}
	}
	if !eligibleInstructions[name] {
		switch name {
		case "run":
			return notEligible("RUN executes commands, which needs Kaniko")
		case "add":
			return notEligible("ADD may fetch URLs and unpack archives, which needs Kaniko; use COPY for files from the context")
		case "onbuild":
			return notEligible("ONBUILD triggers run in later builds, which needs Kaniko")
		}
		return notEligible("a direct build performs only ARG, ENV, LABEL, WORKDIR, COPY, USER, EXPOSE, VOLUME, ENTRYPOINT, CMD, STOPSIGNAL and SHELL")
	}
	c, ok := cmd.(*instructions.CopyCommand)
	if !ok {
		return nil
	}
	switch {
	case c.From != "":
		return notEligible("COPY --from copies from another stage or image, which needs Kaniko")
	case c.Link:
		return notEligible("COPY --link is not performed by Kaniko either")
	case c.Parents:
		return notEligible("COPY --parents is not performed by a direct build")
	case len(c.ExcludePatterns) > 0:
		return notEligible("COPY --exclude is not performed by a direct build")
	case len(c.SourceContents) > 0:
		return notEligible("COPY with a here-document is not performed by a direct build")
	}
	for _, src := range c.SourcePaths {
		if strings.Contains(src, "://") {
			return notEligible("COPY from a URL needs Kaniko")
		}
	}
	if c.Chown != "" && !strings.Contains(c.Chown, "$") {
		if _, _, err := numericOwner(c.Chown); err != nil {
			return notEligible("--chown=" + c.Chown + " names a user or group; a direct build takes numeric ids only (such as --chown=1000:1000)")
		}
	}
	return nil
}

// line is the first line of a location, or 0.
func line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func (p *Plan) metaEnv() []string {
	keys := make([]string, 0, len(p.metaArgs))
	for k := range p.metaArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+p.metaArgs[k])
	}
	return env
}
