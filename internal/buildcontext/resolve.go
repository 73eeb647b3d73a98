package buildcontext

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// maxLinks bounds the symbolic links followed while resolving one path,
// as the kernel's limit (ELOOP after 40) does, so that a loop fails
// instead of spinning.
const maxLinks = 40

// lstatFunc describes one path of a context (slash-separated, relative
// to the context root) without following it when it is a symbolic link:
// its type (0 for a regular file, fs.ModeDir, fs.ModeSymlink, other
// type bits for anything else) and a link's target. A path that does
// not exist is an error satisfying errors.Is(err, fs.ErrNotExist).
type lstatFunc func(name string) (typ fs.FileMode, target string, err error)

// fsLstat describes the paths of fsys.
func fsLstat(fsys fs.FS) lstatFunc {
	return func(name string) (fs.FileMode, string, error) {
		info, err := fs.Lstat(fsys, name)
		if err != nil {
			return 0, "", err
		}
		typ := info.Mode().Type()
		if typ != fs.ModeSymlink {
			return typ, "", nil
		}
		target, err := fs.ReadLink(fsys, name)
		return typ, target, err
	}
}

// entriesLstat describes the paths of an archive's entries, keyed by
// their clean paths; directories that only hold entries, without an
// entry of their own, exist too, as they do once the archive is
// unpacked.
func entriesLstat(entries map[string]Entry) lstatFunc {
	dirs := map[string]bool{}
	for p := range entries {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	return func(name string) (fs.FileMode, string, error) {
		e, ok := entries[name]
		switch {
		case !ok && dirs[name]:
			return fs.ModeDir, "", nil
		case !ok:
			return 0, "", &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
		case e.Type == tar.TypeReg:
			return 0, "", nil
		case e.Type == tar.TypeDir:
			return fs.ModeDir, "", nil
		case e.Type == tar.TypeSymlink:
			return fs.ModeSymlink, e.Link, nil
		}
		return fs.ModeIrregular, "", nil
	}
}

// resolution is a path of the context with its symbolic links followed.
type resolution struct {
	// path is where the named file really is: a path free of links.
	path string
	// links are the symbolic links followed on the way, in order. The
	// builder needs them to reach path, so they are sent with it.
	links []string
}

// leaveError reports a symbolic link whose target is outside the
// context root.
type leaveError struct {
	link, target string
}

func (e *leaveError) Error() string {
	return fmt.Sprintf("the symbolic link %q points to %q, outside the context", e.link, e.target)
}

// resolveInContext follows the symbolic links of name inside the
// context, one component at a time, the way the unpacked context would
// be read with the context directory as its root: a relative target is
// relative to the link's directory, an absolute one to the context root,
// and a ".." that would climb above the root is an error rather than a
// path on the machine that happens to hold the context. Only paths
// already free of links are described, so the operating system never
// follows a link on the way.
func resolveInContext(lstat lstatFunc, name string) (resolution, error) {
	// Each component remembers the link whose target it came from, to
	// name the culprit when it climbs out of the context.
	type component struct {
		name string
		from *leaveError
	}
	var todo []component
	push := func(p string, from *leaveError) {
		var cs []component
		for _, c := range strings.Split(p, "/") {
			cs = append(cs, component{c, from})
		}
		todo = append(cs, todo...)
	}
	push(path.Clean(name), nil)
	var r resolution
	cur := "" // the resolved prefix; "" is the root
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c.name {
		case "", ".":
			continue
		case "..":
			if cur == "" {
				if c.from == nil {
					return r, fmt.Errorf("%q leaves the context", name)
				}
				return r, c.from
			}
			cur = parent(cur)
			continue
		}
		next := c.name
		if cur != "" {
			next = cur + "/" + c.name
		}
		typ, target, err := lstat(next)
		if err != nil {
			return r, err
		}
		switch {
		case typ == fs.ModeSymlink:
			if len(r.links) == maxLinks {
				return r, fmt.Errorf("%q: too many levels of symbolic links", name)
			}
			r.links = append(r.links, next)
			if path.IsAbs(target) {
				cur = ""
			}
			push(target, &leaveError{link: next, target: target})
		case len(todo) > 0 && typ != fs.ModeDir:
			return r, &fs.PathError{Op: "resolve", Path: next, Err: errNotDir}
		default:
			cur = next
		}
	}
	if cur == "" {
		cur = "."
	}
	r.path = cur
	return r, nil
}

// errNotDir is the error for a path that goes through a file as if it
// were a directory; it counts as a path that does not exist.
var errNotDir = fmt.Errorf("not a directory: %w", fs.ErrNotExist)

func parent(p string) string {
	if d := path.Dir(p); d != "." {
		return d
	}
	return ""
}

// resolveDockerfile resolves the Dockerfile's path inside the context,
// which must lead to a regular file. in names the context in errors.
// The errors name paths, never the content of what a link points to.
func resolveDockerfile(lstat lstatFunc, dockerfile, in string) (resolution, error) {
	r, err := resolveInContext(lstat, dockerfile)
	var leave *leaveError
	switch {
	case errors.As(err, &leave):
		return r, &DockerfileOutsideContextError{Path: dockerfile, Link: leave.link, Target: leave.target}
	case errors.Is(err, fs.ErrNotExist):
		return r, &MissingDockerfileError{Path: dockerfile, In: in}
	case err != nil:
		return r, fmt.Errorf("dockerfile: %w", err)
	}
	if typ, _, err := lstat(r.path); err != nil || typ != 0 {
		return r, &MissingDockerfileError{Path: dockerfile, In: in}
	}
	return r, nil
}

// DockerfileOutsideContextError reports a Dockerfile that is a symbolic
// link (or lies below one) leading outside the context. The builder only
// has the context, so it could not read it; and reading it here would
// read a file the configuration never meant to send.
type DockerfileOutsideContextError struct {
	// Path is the Dockerfile's path as configured.
	Path string
	// Link is the symbolic link that leaves the context, and Target
	// where it points.
	Link, Target string
}

func (e *DockerfileOutsideContextError) Error() string {
	return fmt.Sprintf("dockerfile %q is outside the context: the symbolic link %q points to %q", e.Path, e.Link, e.Target)
}
