package dockerfile

import (
	"errors"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// This file is a model of how Kaniko (osscontainertools/kaniko v1.26.3)
// gives values to the words of COPY and ADD sources, read in its
// pkg/dockerfile (dockerfile.go, buildargs.go), pkg/executor/build.go,
// pkg/commands (arg.go, env.go, copy.go, add.go) and
// pkg/util/command_util.go. Each function names the one it follows.
// It models what decides the path a source names; it performs nothing.

// scratchEnv is the environment of an image that has none
// (constants.ScratchEnvVars).
var scratchEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// proxyArgs are build arguments every instruction sees when given,
// declared or not (builtinAllowedBuildArgs).
var proxyArgs = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}

// kanikoArgs is Kaniko's BuildArgs: the ARGs declared so far (in every
// stage built so far: Kaniko carries them from one stage to the next),
// the meta ARGs, the predefined platform arguments and the --build-arg
// values.
type kanikoArgs struct {
	allowed    map[string]*string
	meta       map[string]*string
	predefined map[string]*string
	options    map[string]*string
	// consulted records the predefined arguments looked up, found or
	// not: a run depends on no other of their values.
	consulted map[string]bool
}

func newKanikoArgs(options map[string]string, predefined map[string]string) *kanikoArgs {
	b := &kanikoArgs{allowed: map[string]*string{}, meta: map[string]*string{}, predefined: map[string]*string{}, options: map[string]*string{}, consulted: map[string]bool{}}
	for k, v := range options {
		b.options[k] = &v
	}
	for k, v := range predefined {
		b.predefined[k] = &v
	}
	return b
}

// clone is BuildArgs.Clone.
func (b *kanikoArgs) clone() *kanikoArgs {
	c := &kanikoArgs{allowed: map[string]*string{}, meta: map[string]*string{}, predefined: b.predefined, options: b.options, consulted: b.consulted}
	for k, v := range b.allowed {
		c.allowed[k] = v
	}
	for k, v := range b.meta {
		c.meta[k] = v
	}
	return c
}

// addMetaArgs is BuildArgs.AddMetaArgs: the values as expandNestedArgs
// left them.
func (b *kanikoArgs) addMetaArgs(metaArgs []instructions.ArgCommand) {
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			b.meta[kv.Key] = kv.Value
		}
	}
}

// get is BuildArgs.getBuildArg.
func (b *kanikoArgs) get(key string, mapping map[string]*string) (string, bool) {
	def, exists := mapping[key]
	if v, ok := b.options[key]; ok && v != nil {
		return *v, true
	}
	if def == nil {
		if v, ok := b.meta[key]; ok && v != nil {
			return *v, true
		}
		if exists {
			b.consulted[key] = true
		}
		if v, ok := b.predefined[key]; exists && ok && v != nil {
			return *v, true
		}
		return "", false
	}
	return *def, exists
}

// all is BuildArgs.getAllFromMapping.
func (b *kanikoArgs) all(mapping map[string]*string) map[string]string {
	m := map[string]string{}
	keys := append([]string(nil), proxyArgs...)
	for k := range mapping {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if v, ok := b.get(k, mapping); ok {
			m[k] = v
		}
	}
	return m
}

// replacementEnvs is BuildArgs.ReplacementEnvs: the image's environment,
// then the ARGs it does not shadow.
func (b *kanikoArgs) replacementEnvs(env []string) []string {
	out := append([]string(nil), env...)
	inEnv := map[string]bool{}
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		inEnv[k] = true
	}
	allowed := b.all(b.allowed)
	keys := make([]string, 0, len(allowed))
	for k := range allowed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !inEnv[k] {
			out = append(out, k+"="+allowed[k])
		}
	}
	return out
}

// arg performs one ARG (ArgCommand.ExecuteCommand, ParseArg).
func (b *kanikoArgs) arg(kv instructions.KeyValuePairOptional, env []string) error {
	envs := b.replacementEnvs(env)
	key, err := resolveWord(kv.Key, envs, false)
	if err != nil {
		return err
	}
	var value *string
	if kv.Value != nil {
		v, err := resolveWord(*kv.Value, envs, false)
		if err != nil {
			return err
		}
		value = &v
	} else if v, ok := b.all(b.allowed)[key]; ok {
		value = &v
	} else if v, ok := b.all(b.meta)[key]; ok {
		value = &v
	}
	b.allowed[key] = value
	return nil
}

// updateEnv performs one ENV (util.UpdateConfigEnv): every key and value
// expanded with the environment from before the instruction, an existing
// key replaced where it is, a new one appended.
func updateEnv(pairs instructions.KeyValuePairs, env []string, envs []string) ([]string, error) {
	type kv struct{ k, v string }
	var fresh []kv
	for _, p := range pairs {
		k, err := resolveWord(p.Key, envs, false)
		if err != nil {
			return env, err
		}
		v, err := resolveWord(p.Value, envs, false)
		if err != nil {
			return env, err
		}
		fresh = append(fresh, kv{k, v})
	}
	var cur []kv
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		cur = append(cur, kv{k, v})
	}
next:
	for _, n := range fresh {
		for i := range cur {
			if cur[i].k == n.k {
				cur[i] = n
				continue next
			}
		}
		cur = append(cur, n)
	}
	out := make([]string, 0, len(cur))
	for _, e := range cur {
		out = append(out, e.k+"="+e.v)
	}
	return out, nil
}

// setEnvAsWritten sets ENV's pairs without expanding them.
func setEnvAsWritten(pairs instructions.KeyValuePairs, env []string) []string {
	out := append([]string(nil), env...)
next:
	for _, p := range pairs {
		for i, e := range out {
			if k, _, _ := strings.Cut(e, "="); k == p.Key {
				out[i] = p.Key + "=" + p.Value
				continue next
			}
		}
		out = append(out, p.Key+"="+p.Value)
	}
	return out
}

// resolveWord is util.ResolveEnvironmentReplacement: the word expanded
// with the default escape token whatever the Dockerfile's escape
// directive says; a file path that is not a URL is cleaned, keeping a
// trailing slash.
func resolveWord(word string, envs []string, isFilepath bool) (string, error) {
	fp, _, err := shell.NewLex(parser.DefaultEscapeToken).ProcessWord(word, shell.EnvsFromSlice(envs))
	if !isFilepath || isRemoteURL(fp) {
		return fp, err
	}
	if err != nil {
		return "", err
	}
	dir := strings.HasSuffix(fp, "/")
	fp = path.Clean(fp)
	if dir && !strings.HasSuffix(fp, "/") {
		fp += "/"
	}
	return fp, nil
}

// isRemoteURL is util.IsSrcRemoteFileURL: what ADD downloads instead of
// reading it from the context. COPY reads even such a source from the
// context, joined to its root.
func isRemoteURL(s string) bool {
	u, err := url.ParseRequestURI(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// stripEnclosingQuotes is dockerfile.stripEnclosingQuotes, which Kaniko
// applies to the meta ARGs only, before expanding them.
func stripEnclosingQuotes(metaArgs []instructions.ArgCommand) error {
	for i := range metaArgs {
		for j, kv := range metaArgs[i].Args {
			if kv.Value == nil {
				continue
			}
			v, err := extractValFromQuotes(*kv.Value)
			if err != nil {
				return err
			}
			metaArgs[i].Args[j].Value = &v
		}
	}
	return nil
}

// extractValFromQuotes is dockerfile.extractValFromQuotes.
func extractValFromQuotes(val string) (string, error) {
	if len(val) < 2 {
		return val, nil
	}
	var leader, tail string
	switch c := val[0]; c {
	case '\'', '"':
		leader = string(c)
	case '\\':
		switch c := val[1]; c {
		case '\'', '"':
			leader = string([]byte{'\\', c})
		}
	}
	if len(leader) < 2 {
		switch c := val[len(val)-1]; c {
		case '\'', '"':
			tail = string(c)
		}
	} else {
		switch c := val[len(val)-2:]; c {
		case `\'`, `\"`:
			tail = c
		}
	}
	if leader != tail {
		return "", errors.New("quotes wrapping arg values must be matched")
	}
	if leader == "" || len(leader) == 2 {
		return val, nil
	}
	return val[1 : len(val)-1], nil
}

// expandNestedArgs is dockerfile.expandNestedArgs: each meta ARG's
// default expanded with the meta ARGs before it and the build arguments.
func expandNestedArgs(metaArgs []instructions.ArgCommand, buildArgs []string) error {
	var prev []string
	for i := range metaArgs {
		for j, kv := range metaArgs[i].Args {
			if kv.Value == nil {
				continue
			}
			v, err := resolveWord(*kv.Value, append(append([]string(nil), prev...), buildArgs...), false)
			if err != nil {
				return err
			}
			prev = append(prev, kv.Key+"="+v)
			metaArgs[i].Args[j].Value = &v
		}
	}
	return nil
}

// unifyArgs is dockerfile.unifyArgs, with which FROM is expanded: a
// build argument's value there ends at its first "=", and an empty one
// does not override the meta ARG.
func unifyArgs(metaArgs []instructions.ArgCommand, buildArgs []string) []string {
	m := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				m[kv.Key] = *kv.Value
			}
		}
	}
	for _, a := range buildArgs {
		if s := strings.Split(a, "="); len(s) > 1 && s[1] != "" {
			m[s[0]] = s[1]
		}
	}
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// parseTriggers is dockerfile.ParseCommands: ONBUILD expressions joined
// by newlines and parsed as one Dockerfile, so that one expression's
// trailing escape continues into the next. lines are the first line of
// each expression in the joined text.
func parseTriggers(exprs []string) ([]instructions.Command, []int, error) {
	if len(exprs) == 0 {
		return nil, nil, nil
	}
	joined := strings.Join(exprs, "\n")
	res, err := parser.Parse(strings.NewReader(joined))
	if err != nil {
		return nil, nil, err
	}
	var starts []int
	line := 1
	for _, e := range exprs {
		starts = append(starts, line)
		line += strings.Count(e, "\n") + 1
	}
	var cmds []instructions.Command
	var of []int
	for _, child := range res.AST.Children {
		cmd, err := instructions.ParseCommand(child)
		if err != nil {
			return nil, nil, err
		}
		k := sort.Search(len(starts), func(i int) bool { return starts[i] > child.StartLine }) - 1
		cmds = append(cmds, cmd)
		of = append(of, max(k, 0))
	}
	return cmds, of, nil
}

// command is one instruction a stage performs, and where it comes from.
type command struct {
	instructions.Command
	// trigger is the ONBUILD instruction it comes from, or nil for the
	// stage's own instruction.
	trigger *Trigger
}

// kanikoStage is one stage as Kaniko builds it (config.KanikoStage).
type kanikoStage struct {
	index int
	name  string
	// base is FROM's word expanded as MakeKanikoStages expands it;
	// baseIndex the earlier stage it names, or -1.
	base      string
	baseIndex int
	fromLine  int
	commands  []command
}

// kanikoStages is MakeKanikoStages (without skipping unused stages):
// every stage up to limit (included), FROM expanded, a stage built on
// an earlier one starting with that one's ONBUILD triggers.
func kanikoStages(stages []instructions.Stage, metaArgs []instructions.ArgCommand, buildArgs []string, limit int) []kanikoStage {
	args := unifyArgs(metaArgs, buildArgs)
	var out []kanikoStage
	for i := 0; i <= limit && i < len(stages); i++ {
		s := stages[i]
		base, err := resolveWord(s.BaseName, args, false)
		if err != nil {
			base = s.BaseName
		}
		ks := kanikoStage{index: i, name: s.Name, base: base, baseIndex: -1, fromLine: line(s.Location)}
		for j := 0; j < i; j++ {
			if stages[j].Name == strings.ToLower(base) {
				ks.baseIndex = j
				break
			}
		}
		if ks.baseIndex >= 0 {
			var exprs []string
			var onLines []int
			for _, c := range stages[ks.baseIndex].Commands {
				if ob, ok := c.(*instructions.OnbuildCommand); ok {
					exprs = append(exprs, ob.Expression)
					onLines = append(onLines, line(ob.Location()))
				}
			}
			if cmds, of, err := parseTriggers(exprs); err == nil {
				for k, c := range cmds {
					ks.commands = append(ks.commands, command{c, &Trigger{Base: stages[ks.baseIndex].Name, Stage: true, Line: onLines[of[k]]}})
				}
			}
		}
		for _, c := range s.Commands {
			ks.commands = append(ks.commands, command{Command: c})
		}
		out = append(out, ks)
	}
	return out
}

// skipUnusedStages is dockerfile.skipUnusedStages with squashing, as
// Kaniko runs by default (--skip-unused-stages, FF_KANIKO_SQUASH_STAGES):
// the stages the target needs, a base used once by FROM alone performed
// right before the stage built on it, as part of it.
func skipUnusedStages(stages []kanikoStage, target int) []kanikoStage {
	stages = append([]kanikoStage(nil), stages[:target+1]...)
	byName := map[string]int{}
	for i, s := range stages {
		if s.name != "" {
			byName[s.name] = i
		}
	}
	deps := make([]int, len(stages))
	copies := make([]int, len(stages))
	deps[target] = 1
	for i := target; i >= 0; i-- {
		if deps[i] == 0 && copies[i] == 0 {
			continue
		}
		s := stages[i]
		if s.baseIndex >= 0 {
			deps[s.baseIndex]++
		}
		for _, c := range s.commands {
			cp, ok := c.Command.(*instructions.CopyCommand)
			if !ok {
				continue
			}
			if n, err := strconv.Atoi(cp.From); err == nil {
				if n >= 0 && n < len(copies) {
					copies[n]++
				}
			} else if j, ok := byName[strings.ToLower(cp.From)]; ok {
				copies[j]++
			}
		}
	}
	for i, s := range stages {
		if deps[i] > 0 && s.baseIndex >= 0 && deps[s.baseIndex] == 1 && copies[s.baseIndex] == 0 {
			a := stages[s.baseIndex]
			merged := kanikoStage{index: s.index, name: s.name, base: a.base, baseIndex: a.baseIndex, fromLine: a.fromLine}
			for _, c := range a.commands {
				if _, ok := c.Command.(*instructions.OnbuildCommand); !ok {
					merged.commands = append(merged.commands, c)
				}
			}
			merged.commands = append(merged.commands, s.commands...)
			stages[i] = merged
			deps[s.baseIndex] = 0
		}
	}
	var used []kanikoStage
	for i, s := range stages {
		if deps[i] > 0 || copies[i] > 0 {
			used = append(used, s)
		}
	}
	return used
}

// pulledBase is the name RetrieveSourceImage pulls for a stage that is
// not built on an earlier one: FROM expanded once more, with the meta
// ARGs (those without a value as empty) and the build arguments.
func pulledBase(base string, metaArgs []instructions.ArgCommand, buildArgs []string) string {
	var args []string
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			args = append(args, kv.Key+"="+kv.ValueString())
		}
	}
	args = append(args, buildArgs...)
	if v, err := resolveWord(base, args, false); err == nil {
		return v
	}
	return base
}
