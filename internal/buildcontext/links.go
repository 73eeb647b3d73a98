package buildcontext

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Tree is a context's paths as a builder that unpacked it sees them,
// described without following links or reading any file's content: what
// checking COPY sources against the context's symbolic links needs.
type Tree struct {
	lstat lstatFunc
	// readDir lists the names in a directory (a path free of links; ""
	// or "." for the root).
	readDir func(name string) ([]string, error)
}

// Tree describes the snapshot's entries, with the directories the
// archive implies.
func (s *Snapshot) Tree() (*Tree, error) {
	index, err := s.Index()
	if err != nil {
		return nil, err
	}
	return entriesTree(index), nil
}

// entriesTree describes entries keyed by clean paths.
func entriesTree(entries map[string]Entry) *Tree {
	children := map[string]map[string]bool{}
	for p := range entries {
		for d := p; d != "."; d = path.Dir(d) {
			parent := path.Dir(d)
			if children[parent] == nil {
				children[parent] = map[string]bool{}
			}
			children[parent][path.Base(d)] = true
		}
	}
	return &Tree{lstat: entriesLstat(entries), readDir: func(name string) ([]string, error) {
		if name == "" {
			name = "."
		}
		var names []string
		for n := range children[name] {
			names = append(names, n)
		}
		sort.Strings(names)
		return names, nil
	}}
}

// Tree describes the source's paths as its snapshot would hold them,
// without archiving it: a symbolic link the ignore file excludes is not
// there. It reads the ignore file now, and paths only when asked; what
// changes meanwhile is the snapshot's to tell.
func (s Source) Tree() (*Tree, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Files != nil {
		entries := map[string]Entry{}
		for p := range s.Files {
			entries[path.Clean(p)] = Entry{Type: tar.TypeReg}
		}
		return entriesTree(entries), nil
	}
	fsys := dirFS(resolvedRoot(s.Dir))
	t := fsTree(fsys)
	sel, err := s.selection(t)
	if err != nil {
		return nil, err
	}
	lstat := func(name string) (fs.FileMode, string, error) {
		typ, target, err := t.lstat(name)
		if err == nil && typ == fs.ModeSymlink {
			if send, _, derr := sel.decide(name); derr != nil || !send {
				return 0, "", &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
			}
		}
		return typ, target, err
	}
	return &Tree{lstat: lstat, readDir: func(name string) ([]string, error) {
		if name == "" {
			name = "."
		}
		entries, err := fs.ReadDir(fsys, name)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		return names, nil
	}}, nil
}

// OutsideLinkError reports a COPY or ADD source whose path goes through
// a symbolic link of the context that leads outside it.
type OutsideLinkError struct {
	// Source is the source as checked; Link the link's path in the
	// context and Target where it points.
	Source, Link, Target string
}

func (e *OutsideLinkError) Error() string {
	return fmt.Sprintf("the source %s goes through the symbolic link %s, which points to %s, outside the build context", e.Source, e.Link, e.Target)
}

// CheckSource reports (*OutsideLinkError) a source that Kaniko would
// read through a symbolic link of the context leading outside it: a link
// whose target is absolute (Kaniko resolves it in its own file system,
// where the registry credentials are mounted) or climbs above the
// context's root. src is the source as Kaniko expands it: relative to the
// context root (an absolute one too), a trailing slash kept. Its last
// component is followed when it ends in a slash, or with followLast (ADD
// opens it to see whether it is an archive); otherwise a link there is
// copied as a link, which reads nothing. Wildcards are matched against
// the tree, a match that is a link inside the context followed like any
// other: Kaniko matches them without following links at all, so a
// wildcard through a link is refused where Kaniko would copy nothing. A
// path that does not exist is not an error here: the build reports it.
func (t *Tree) CheckSource(src string, followLast bool) error {
	clean := strings.TrimPrefix(path.Clean("/"+src), "/")
	if clean == "" {
		return nil
	}
	followLast = followLast || strings.HasSuffix(src, "/")
	err := t.walk("", strings.Split(clean, "/"), followLast)
	var out *OutsideLinkError
	if errors.As(err, &out) {
		out.Source = src
		return out
	}
	return nil
}

// walk goes down comps (names or patterns) from dir, a path free of
// links ("" for the root).
func (t *Tree) walk(dir string, comps []string, followLast bool) error {
	c, rest := comps[0], comps[1:]
	names := []string{c}
	if strings.ContainsAny(c, "*?[") {
		all, err := t.readDir(dir)
		if err != nil {
			return nil
		}
		names = names[:0]
		for _, n := range all {
			if ok, err := path.Match(c, n); err == nil && ok {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		p := join(dir, n)
		typ, target, err := t.lstat(p)
		if err != nil {
			continue
		}
		last := len(rest) == 0
		if typ == fs.ModeSymlink && (!last || followLast) {
			resolved, err := t.resolveLink(p, target, 0)
			if err != nil {
				return err
			}
			if resolved == nil || last {
				continue
			}
			if err := t.walk(*resolved, rest, followLast); err != nil {
				return err
			}
			continue
		}
		if last || typ != fs.ModeDir {
			continue
		}
		if err := t.walk(p, rest, followLast); err != nil {
			return err
		}
	}
	return nil
}

// resolveLink follows the link at p (with target) to the directory or
// file it names, as the kernel would inside the unpacked context: nil
// when that does not exist or loops, an *OutsideLinkError when it leads
// outside.
func (t *Tree) resolveLink(p, target string, depth int) (*string, error) {
	if depth == maxLinks {
		return nil, nil // ELOOP: nothing is read
	}
	if path.IsAbs(target) {
		return nil, &OutsideLinkError{Link: p, Target: target}
	}
	cur := parent(p)
	comps := strings.Split(target, "/")
	for i, c := range comps {
		switch c {
		case "", ".":
			continue
		case "..":
			if cur == "" {
				return nil, &OutsideLinkError{Link: p, Target: target}
			}
			cur = parent(cur)
			continue
		}
		next := join(cur, c)
		typ, tgt, err := t.lstat(next)
		if err != nil {
			return nil, nil
		}
		switch {
		case typ == fs.ModeSymlink:
			r, err := t.resolveLink(next, tgt, depth+1)
			if r == nil || err != nil {
				return nil, err
			}
			cur = *r
		case typ != fs.ModeDir && i < len(comps)-1:
			return nil, nil
		default:
			cur = next
		}
	}
	return &cur, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
