package buildcontext

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ignoreFileSuffix names the ignore file of one Dockerfile: BuildKit and
// Kaniko read <Dockerfile>.dockerignore when it exists, and the
// context's .dockerignore only otherwise.
const ignoreFileSuffix = ".dockerignore"

// selection is what of a context is sent: what the ignore file in use
// does not exclude, and always what the builder itself reads.
type selection struct {
	// matcher holds the ignore file's patterns; nil excludes nothing.
	matcher *patternmatcher.PatternMatcher
	// ignoreFile is the ignore file in use, for messages.
	ignoreFile string
	// sent are sent whatever the ignore file says, as Docker sends
	// them: the Dockerfile, the ignore file in use, and the symbolic
	// links that lead to either.
	sent map[string]bool
	// generated is the content of InlineDockerignoreName, for an inline
	// Dockerfile.
	generated []byte
}

// selection reads the ignore file that applies to the Dockerfile and
// lists what the builder needs.
func (s Source) selection(t tree) (*selection, error) {
	sel := &selection{sent: map[string]bool{}}
	if s.DockerfileInline == "" {
		df, err := resolveDockerfile(t.lstat, s.Dockerfile(), s.where())
		if err != nil {
			return nil, err
		}
		sel.send(df)
	}
	// For an inline Dockerfile, Validate made sure there is no
	// InlineDockerignoreName in the context: this finds .dockerignore.
	name, r, err := findIgnoreFile(t.lstat, s.Dockerfile())
	if err != nil {
		return nil, err
	}
	var content []byte
	if name != "" {
		if content, err = t.readFile(r.path); err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
	}
	if s.DockerfileInline != "" {
		// The builder reads the generated file instead; .dockerignore
		// is sent only if its own patterns let it.
		sel.generated = inlineIgnoreFile(content)
		name, content = InlineDockerignoreName, sel.generated
		sel.sent[InlineDockerfileName] = true
		sel.sent[InlineDockerignoreName] = true
	} else if name != "" {
		sel.send(r)
	}
	sel.ignoreFile = name
	sel.matcher, err = parseIgnoreFile(name, content)
	return sel, err
}

// inlineIgnoreFile is the ignore file of an inline Dockerfile: the
// context's .dockerignore as it is (so that Kaniko reads the same
// patterns from it), then patterns that exclude the generated files.
// They come last, so no "!pattern" of the context re-includes them.
func inlineIgnoreFile(dockerignore []byte) []byte {
	var b bytes.Buffer
	b.Write(dockerignore)
	if len(dockerignore) > 0 && dockerignore[len(dockerignore)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString("# Generated with the inline Dockerfile, which COPY must not copy.\n")
	b.WriteString(InlineDockerfileName + "\n" + InlineDockerignoreName + "\n")
	return b.Bytes()
}

func (sel *selection) send(r resolution) {
	sel.sent[r.path] = true
	for _, l := range r.links {
		sel.sent[l] = true
	}
}

// findIgnoreFile returns the ignore file that applies to the Dockerfile,
// resolved inside the context as the Dockerfile is, or "" when there is
// none.
func findIgnoreFile(lstat lstatFunc, dockerfile string) (string, resolution, error) {
	for _, name := range []string{path.Clean(dockerfile) + ignoreFileSuffix, ".dockerignore"} {
		r, err := resolveInContext(lstat, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", r, fmt.Errorf("ignore file %s: %w", name, err)
		}
		if typ, _, err := lstat(r.path); err != nil || typ != 0 {
			return "", r, fmt.Errorf("ignore file %s is not a regular file", name)
		}
		return name, r, nil
	}
	return "", resolution{}, nil
}

// parseIgnoreFile reads patterns as Docker does; nil when there are none.
func parseIgnoreFile(name string, content []byte) (*patternmatcher.PatternMatcher, error) {
	patterns, err := ignorefile.ReadAll(bytes.NewReader(content))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	m, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	return m, nil
}

// excluded reports whether the ignore file excludes rel.
func (sel *selection) excluded(rel string) (bool, error) {
	if sel.matcher == nil {
		return false, nil
	}
	excluded, err := sel.matcher.MatchesOrParentMatches(rel)
	if err != nil {
		return false, fmt.Errorf("matching %s against %s: %w", rel, sel.ignoreFile, err)
	}
	return excluded, nil
}

// decide reports whether rel is sent, and whether it is sent only for
// the builder: the ignore file excludes it, so COPY must not copy it.
func (sel *selection) decide(rel string) (send, builderOnly bool, err error) {
	excluded, err := sel.excluded(rel)
	if err != nil {
		return false, false, err
	}
	if sel.sent[rel] {
		return true, excluded, nil
	}
	return !excluded, false, nil
}

// prunes reports whether the walk may skip the excluded directory dir
// without reading it, because nothing below it can be sent: then an
// unreadable directory that is ignored anyway (a cache owned by another
// user, mode 000) does not fail the archive.
//
// The last pattern that matches a path or one of its parents decides
// whether it is excluded. A path below dir is matched by every pattern
// that matches dir, and perhaps by more: so it can only be re-included
// by a "!pattern" that matches it, or a parent of it below dir. Unless
// such a negation may exist, dir is pruned, as are directories that do
// not hold what is always sent.
func (sel *selection) prunes(dir string) bool {
	for p := range sel.sent {
		if strings.HasPrefix(p, dir+"/") {
			return false
		}
	}
	for _, p := range sel.matcher.Patterns() {
		if p.Exclusion() && mayMatchBelow(p.String(), dir) {
			return false
		}
	}
	return true
}

// mayMatchBelow reports whether pattern (as patternmatcher cleaned it)
// might match a path strictly below dir. It is conservative: it
// compares the pattern's leading components with dir's, one by one,
// with path.Match, which agrees with patternmatcher's regular expression
// for ASCII literals, "*" and "?" (none of which match a "/"). From a
// component on that it cannot reason about, the pattern is assumed to
// match: one holding "**", a character class or an escape (which may
// match a "/"), a brace or a caret (patternmatcher passes "{", "}" and
// "^" to the regular expression as they are, so "z{0}" is "", "^*" is
// "*"), or anything but ASCII (read as runes, skipping a leading byte
// order mark, invalid UTF-8 as U+FFFD). A "|" anywhere, also passed as
// it is, makes the expression an alternation that may match any path at
// all. Without those, a pattern only matches paths of exactly its number
// of components, so it must have more components than dir.
func mayMatchBelow(pattern, dir string) bool {
	if strings.Contains(pattern, "|") {
		return true
	}
	pc := strings.Split(pattern, "/")
	dc := strings.Split(dir, "/")
	for i, c := range pc {
		if strings.Contains(c, "**") || strings.ContainsAny(c, `[]\{}^`) || !isASCII(c) {
			return true
		}
		if i == len(dc) {
			return true
		}
		if ok, err := path.Match(c, dc[i]); err != nil || !ok {
			return err != nil
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
