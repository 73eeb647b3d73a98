package dockerfile

import (
	"bytes"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// FinalBase returns the image the final stage (or target) of a
// Dockerfile builds on, following FROM <stage> to the image that stage
// starts from; ok is false for FROM scratch or a Dockerfile it cannot
// read.
func FinalBase(dockerfile []byte, buildArgs map[string]string, target string) (ref string, ok bool) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return "", false
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil || len(stages) == 0 {
		return "", false
	}
	lex := shell.NewLex(res.EscapeToken)
	var env []string
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			v := ""
			if kv.Value != nil {
				v = *kv.Value
			}
			if given, ok := buildArgs[kv.Key]; ok {
				v = given
			}
			env = append(env, kv.Key+"="+v)
		}
	}
	byName := map[string]int{}
	for i, s := range stages {
		if s.Name != "" {
			byName[strings.ToLower(s.Name)] = i
		}
	}
	i := len(stages) - 1
	if target != "" {
		t, found := byName[strings.ToLower(target)]
		if !found {
			return "", false
		}
		i = t
	}
	for hops := 0; hops <= len(stages); hops++ {
		base, _, err := lex.ProcessWord(stages[i].BaseName, shell.EnvsFromSlice(env))
		if err != nil {
			return "", false
		}
		if j, isStage := byName[strings.ToLower(base)]; isStage && j < i {
			i = j
			continue
		}
		if base == "" || strings.EqualFold(base, "scratch") {
			return "", false
		}
		return base, true
	}
	return "", false
}
