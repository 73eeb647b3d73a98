package buildcontext

import (
	"context"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// FuzzExclusions checks the archive's exclusion decisions against
// patternmatcher's MatchesOrParentMatches, which BuildKit uses, for
// random trees and ignore files, with the directory walk (which prunes)
// and with generated files (which do not).
//
// The oracle: a path is archived, with a directory as an entry of its
// own, iff it is always sent (the Dockerfile and the ignore file in use)
// or MatchesOrParentMatches does not exclude it; an always-sent path
// that the ignore file excludes is marked BuilderOnly. An excluded
// directory is never an entry, even when it leads to a re-included or
// always-sent path: BuildKit sends such parent directories, but the
// unpacked archive implies them, and Kaniko's COPY skips an excluded
// directory itself (it copies only the re-included paths below), so
// leaving them out changes no image and keeps hashes as they were.
//
// A path line of the tree ending in "/" is an (empty) directory, one
// starting with "@" a symbolic link; lines that are not valid paths, or
// that would make a file the parent of another path, are dropped.
func FuzzExclusions(f *testing.F) {
	for _, seed := range []struct {
		patterns, paths, dockerfile string
		specific                    bool
	}{
		{"**/*.log\n!important.log\n", "a.log\nimportant.log\nsub/b.log\nsub/important.log\nsrc/main.go\n", "Dockerfile", false},
		{"**/*.log\n!**/important.log\n", "a.log\nsub/deep/important.log\nsub/deep/other.log\n", "Dockerfile", false},
		{"build/\n!build/keep/\n", "build/out\nbuild/keep/x\nbuild/keep/sub/y\nbuild/cache/\n", "build/Dockerfile", false},
		{"/secret\n/sub/\n", "secret\nsub/secret\nother/secret\n", "Dockerfile", false},
		{"../x\nx/..\n./y\n", "x\ny\nz/x\n", "Dockerfile", false},
		{"[a-c]*\n!b*\n![^a]pple\n", "apple\nbanana\ncherry\ndate\nb/x\n", "Dockerfile", false},
		{"*\n!src\n!src/**\nsrc/**/*.tmp\n", "src/a/b.go\nsrc/a/c.tmp\ndoc/x\n", "src/Dockerfile", false},
		{"secret.env\n", "secret.env\napp\n.dockerignore\n", "docker/Dockerfile.prod", true},
		{"Dockerfile\n.dockerignore\n", "app\n", "Dockerfile", false},
		{"a/**/c\n!a/b/c/keep\n", "a/b/c/keep\na/b/c/drop\na/c\na/x/y/c/z\n", "Dockerfile", false},
		{"dir/\n!dir/sub/\n", "dir/\ndir/sub/\ndir/empty/\ndir/sub/f\n", "Dockerfile", false},
		{"**\n!Dockerfile\n", "a\nb/c\n", "Dockerfile", false},
		{"!\n", "a\n", "Dockerfile", false},
		{"a\\*b\n", "a*b\nab\naxb\n", "Dockerfile", false},
		{"docs\n!docs/*.md\ndocs/internal\n", "docs/a.md\ndocs/internal/b.md\ndocs/c.txt\n", "Dockerfile", false},
		{"nested/deep\n!nested\n", "nested/deep/x\nnested/y\n", "nested/deep/Dockerfile", false},
		{"links\n!links/keep\n", "@links/keep\n@links/drop\n@top\n", "Dockerfile", false},
		{" spaced \n# comment\n!  kept\n*\n", " spaced \nkept\nother\n", "Dockerfile", false},
		{"*\n", "a\nb/c\n", "deep/er/Dockerfile", true},
		// patternmatcher reads a pattern with text/scanner, which skips
		// a byte order mark at its start.
		{"a\n!\ufeffa/*\n", "a/x\n", "Dockerfile", false},
		{"données\n!données/*.csv\n", "données/a.csv\ndonnées/b.txt\n", "Dockerfile", false},
		// With a wildcard, patternmatcher passes "|", braces and "^" to
		// its regular expression as they are: !zz/x*|y re-includes a/y,
		// !zz{0}/x* is !z/x*, and !^*/x is !*/x.
		{"a\n!zz/x*|y\n", "a/y\na/n\n", "Dockerfile", false},
		{"z\n!zz{0}/x*\n", "z/xa\nz/b\n", "Dockerfile", false},
		{"a\n!^*/x\n", "a/x\na/y\n", "Dockerfile", false},
	} {
		f.Add(seed.patterns, seed.paths, seed.dockerfile, seed.specific)
	}
	f.Fuzz(func(t *testing.T, patterns, paths, dockerfile string, specific bool) {
		df := path.Clean(dockerfile)
		if !fs.ValidPath(df) || df == "." || checkRelative(df) != nil {
			df = DefaultDockerfile
		}
		ignoreName := ".dockerignore"
		if specific {
			ignoreName = df + ignoreFileSuffix
		}
		fsys := fstest.MapFS{}
		kinds := map[string]fs.FileMode{} // every path, with the directories implied
		add := func(p string, m *fstest.MapFile) bool {
			for d := path.Dir(p); d != "."; d = path.Dir(d) {
				if k, ok := kinds[d]; ok && k != fs.ModeDir {
					return false // a file cannot hold anything
				}
			}
			if k, ok := kinds[p]; ok {
				return k == fs.ModeDir && m.Mode.IsDir()
			}
			fsys[p] = m
			kinds[p] = m.Mode.Type()
			for d := path.Dir(p); d != "."; d = path.Dir(d) {
				kinds[d] = fs.ModeDir
			}
			return true
		}
		if !add(df, file("FROM scratch\n")) || !add(ignoreName, file(patterns)) {
			return
		}
		if specific {
			// Present, but not the ignore file in use.
			add(".dockerignore", file("*\n"))
		}
		for i, line := range strings.Split(paths, "\n") {
			if i == 64 {
				break
			}
			m := file("x")
			switch {
			case strings.HasPrefix(line, "@"):
				line = line[1:]
				m = &fstest.MapFile{Data: []byte("target"), Mode: fs.ModeSymlink | 0o777}
			case strings.HasSuffix(line, "/"):
				line = strings.TrimSuffix(line, "/")
				m = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
			}
			// Without specific, <Dockerfile>.dockerignore must not
			// exist: it would be the ignore file in use.
			if fs.ValidPath(line) && line != "." && line != df+ignoreFileSuffix {
				add(line, m)
			}
		}

		lines, err := ignorefile.ReadAll(strings.NewReader(patterns))
		if err != nil {
			return
		}
		var pm *patternmatcher.PatternMatcher
		if len(lines) > 0 {
			if pm, err = patternmatcher.New(lines); err != nil {
				if _, werr := walkNames(fsys, df); werr == nil {
					t.Fatalf("patterns %q do not parse (%v), yet the walk archived the tree", lines, err)
				}
				return
			}
		}
		always := map[string]bool{df: true, ignoreName: true}
		// expect lists what the oracle archives of the given paths, as
		// entry names, each with whether it is BuilderOnly.
		expect := func(kinds map[string]fs.FileMode) (map[string]bool, bool) {
			want := map[string]bool{}
			for p, k := range kinds {
				excluded := false
				if pm != nil {
					if excluded, err = pm.MatchesOrParentMatches(p); err != nil {
						return nil, false
					}
				}
				if !always[p] && excluded {
					continue
				}
				name := p
				if k == fs.ModeDir {
					name += "/"
				}
				want[name] = always[p] && excluded
			}
			return want, true
		}
		want, ok := expect(kinds)
		if !ok {
			return // a pattern that fails to match: not a question of exclusion
		}

		sel, err := Source{Dir: "(fuzz)", DockerfilePath: df}.selection(fsTree(fsys))
		if err != nil {
			t.Fatalf("selection: %v", err)
		}
		entries, err := walkEntries(context.Background(), fsys, sel)
		if err != nil {
			t.Fatalf("walk: %v", err)
		}
		if got := entryMap(entries); !reflect.DeepEqual(got, want) {
			t.Fatalf("patterns %q: the walk archived\n%v\nthe oracle\n%v", lines, sortedKeys(got), sortedKeys(want))
		}

		// The same tree as generated files: regular files only, with
		// the directories they imply.
		files := map[string]string{}
		fileKinds := map[string]fs.FileMode{}
		for p, m := range fsys {
			if m.Mode.IsRegular() {
				files[p] = string(m.Data)
				fileKinds[p] = 0
				for d := path.Dir(p); d != "."; d = path.Dir(d) {
					fileKinds[d] = fs.ModeDir
				}
			}
		}
		src := Source{Files: files, DockerfilePath: df}
		if sel, err = src.selection(src.tree()); err != nil {
			t.Fatalf("selection of the files: %v", err)
		}
		fentries, err := fileEntries(files, sel)
		if err != nil {
			t.Fatalf("files: %v", err)
		}
		if want, ok := expect(fileKinds); ok && !reflect.DeepEqual(entryMap(fentries), want) {
			t.Fatalf("patterns %q: the files archived\n%v\nthe oracle\n%v", lines, sortedKeys(entryMap(fentries)), sortedKeys(want))
		}
	})
}

// entryMap maps entry names to whether they are BuilderOnly.
func entryMap(entries []entry) map[string]bool {
	m := map[string]bool{}
	for _, e := range entries {
		m[e.name] = e.builderOnly
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			k += " (builder only)"
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FuzzMayMatchBelow checks the conservative check that lets the walk
// skip an excluded directory, on names no file system of the other fuzz
// test can hold: when it says a pattern cannot match below dir, the
// pattern matches no path below dir.
func FuzzMayMatchBelow(f *testing.F) {
	for _, seed := range [][3]string{
		{"private/public.pem", "private", "public.pem"},
		{"priv*/*.pem", "private", "key.pem"},
		{"**/x", "a/b", "c/x"},
		{"a?c/d", "abc", "d/e"},
		{"\ufeffa/*", "a", "x"},
		{"a[^x]b", "a", "b"},
		{"a\\/b/c", "a", "b/c"},
		{"*.log", "logs", "a.log"},
		{"a/b", "a/b", "c"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, pattern, dir, below string) {
		pm, err := patternmatcher.New([]string{strings.TrimPrefix(pattern, "!")})
		if err != nil || len(pm.Patterns()) != 1 || !validName(dir) || dir == "." || !validName(below) || below == "." {
			return
		}
		cleaned := pm.Patterns()[0].String()
		if mayMatchBelow(cleaned, dir) {
			return
		}
		q := dir
		for _, elem := range strings.Split(below, "/") {
			q += "/" + elem
			// With no parent result, this matches q alone.
			if match, err := pm.MatchesUsingParentResult(q, false); err == nil && match {
				t.Fatalf("mayMatchBelow(%q, %q) = false, yet the pattern matches %q", cleaned, dir, q)
			}
		}
	})
}
