package dockerfile

import (
	"bytes"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Copy is one COPY or ADD of the image's stage from the context.
type Copy struct {
	Instruction string
	Line        int
	// Sources are the sources as the build expands them, relative to
	// the context root (a leading "/" removed).
	Sources []string
}

// FinalCopies lists the COPY and ADD instructions of the stage the image
// is (the target, else the last) that copy from the context, with their
// sources expanded with the build arguments, the ARG defaults, ENV and
// predefined (Kaniko's platform arguments, for the ARGs the stage
// declares without a value); nil for a Dockerfile that does not parse.
func FinalCopies(dockerfile []byte, buildArgs, predefined map[string]string, target string) []Copy {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil || len(stages) == 0 {
		return nil
	}
	stage := stages[len(stages)-1]
	if target != "" {
		for _, s := range stages {
			if strings.EqualFold(s.Name, target) {
				stage = s
			}
		}
	}
	meta := map[string]*string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			meta[kv.Key] = kv.Value
			if v, ok := buildArgs[kv.Key]; ok {
				meta[kv.Key] = &v
			}
		}
	}
	lex := shell.NewLex(parser.DefaultEscapeToken)
	env := map[string]string{}
	var copies []Copy
	for _, cmd := range stage.Commands {
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				v, given := buildArgs[kv.Key]
				switch {
				case given:
				case kv.Value != nil:
					v = *kv.Value
				case meta[kv.Key] != nil:
					v = *meta[kv.Key]
				default:
					v, given = predefined[kv.Key]
					if !given {
						continue
					}
				}
				env[kv.Key] = v
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if v, _, err := lex.ProcessWord(kv.Value, envGetter(env)); err == nil {
					env[kv.Key] = v
				}
			}
		case *instructions.CopyCommand:
			if c.From == "" {
				copies = append(copies, expandCopy("COPY", c.Location(), c.SourcePaths, lex, env))
			}
		case *instructions.AddCommand:
			if add := expandCopy("ADD", c.Location(), c.SourcePaths, lex, env); len(add.Sources) > 0 {
				copies = append(copies, add)
			}
		}
	}
	return copies
}

func envGetter(env map[string]string) shell.EnvGetter {
	pairs := make([]string, 0, len(env))
	for k, v := range env {
		pairs = append(pairs, k+"="+v)
	}
	return shell.EnvsFromSlice(pairs)
}

func expandCopy(instruction string, loc []parser.Range, sources []string, lex *shell.Lex, env map[string]string) Copy {
	c := Copy{Instruction: instruction}
	if len(loc) > 0 {
		c.Line = loc[0].Start.Line
	}
	for _, src := range sources {
		if strings.Contains(src, "://") {
			continue
		}
		if v, _, err := lex.ProcessWord(src, envGetter(env)); err == nil {
			src = v
		}
		src = strings.TrimPrefix(path.Clean("/"+src), "/")
		if src == "" {
			src = "."
		}
		c.Sources = append(c.Sources, src)
	}
	return c
}

// Copies reports whether a COPY source names the context file p
// (slash-separated, relative): the whole context, the file, a directory
// above it, or a wildcard matching it or a directory above it.
func (c Copy) Copies(p string) bool {
	for _, src := range c.Sources {
		if src == "." {
			return true
		}
		for q := p; q != "."; q = path.Dir(q) {
			if q == src {
				return true
			}
			if ok, err := path.Match(src, q); err == nil && ok {
				return true
			}
		}
	}
	return false
}
