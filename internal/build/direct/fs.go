package direct

import (
	"archive/tar"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// node is one entry of the image's file tree: metadata only. A regular
// file that a COPY wrote names its content in the context snapshot.
type node struct {
	Type byte   `json:"t"`
	Mode int64  `json:"m"`
	UID  int    `json:"u"`
	GID  int    `json:"g"`
	Link string `json:"l,omitempty"`
	// src is the snapshot path of a file written by this build; size its
	// length.
	src  string
	size int64
}

func (n *node) isDir() bool     { return n.Type == tar.TypeDir }
func (n *node) isSymlink() bool { return n.Type == tar.TypeSymlink }

// tree is the image's file system as a map of clean absolute paths. The
// base image's entries come first; a build's changes are recorded in
// changed, so that each COPY's layer holds exactly what it changed.
type tree struct {
	nodes   map[string]*node
	changed map[string]bool
}

func newTree(base map[string]*node) *tree {
	nodes := make(map[string]*node, len(base)+1)
	for p, n := range base {
		c := *n
		nodes[p] = &c
	}
	if _, ok := nodes["/"]; !ok {
		nodes["/"] = &node{Type: tar.TypeDir, Mode: 0o755}
	}
	return &tree{nodes: nodes, changed: map[string]bool{}}
}

// lstat returns the entry at p without following a final symlink.
func (t *tree) lstat(p string) *node { return t.nodes[path.Clean(p)] }

// resolve follows symlinks in every component of p, as the kernel does
// inside the image's root. It returns the resolved path, which may not
// exist.
func (t *tree) resolve(p string) (string, error) {
	p = path.Clean("/" + p)
	hops := 0
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i := 0; i < len(parts); i++ {
		if parts[i] == "" {
			continue
		}
		next := path.Join(cur, parts[i])
		n := t.nodes[next]
		if n == nil || !n.isSymlink() {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("too many levels of symbolic links at %s", next)
		}
		target := n.Link
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		rest := append(strings.Split(strings.TrimPrefix(path.Clean(target), "/"), "/"), parts[i+1:]...)
		parts, i, cur = rest, -1, "/"
	}
	return cur, nil
}

// notDir reports whether lstat of p would fail with "not a directory":
// a component before the last (or the last, with a trailing slash)
// exists and, its links followed, is not a directory.
func (t *tree) notDir(p string, trailingSlash bool) bool {
	parts := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	cur := "/"
	for i, part := range parts {
		if part == "" {
			continue
		}
		r, err := t.resolve(path.Join(cur, part))
		if err != nil {
			return false
		}
		n := t.nodes[r]
		if n == nil {
			return false
		}
		if !n.isDir() && (i < len(parts)-1 || trailingSlash) {
			return true
		}
		cur = r
	}
	return false
}

// stat returns the entry at p following symlinks, or nil.
func (t *tree) stat(p string) *node {
	r, err := t.resolve(p)
	if err != nil {
		return nil
	}
	return t.nodes[r]
}

func (t *tree) set(p string, n *node) {
	p = path.Clean(p)
	t.nodes[p] = n
	t.changed[p] = true
}

// mkdir creates one directory, owned by root unless chowned after.
func (t *tree) mkdir(p string, mode int64) *node {
	n := &node{Type: tar.TypeDir, Mode: mode}
	t.set(p, n)
	return n
}

// mkdirAll creates p and its missing parents with mode, owned by root,
// as os.MkdirAll does with a zero umask. Existing components are
// followed through symlinks.
func (t *tree) mkdirAll(p string, mode int64) error {
	p = path.Clean(p)
	if n := t.stat(p); n != nil {
		if n.isDir() {
			return nil
		}
		return fmt.Errorf("%s exists and is not a directory", p)
	}
	if parent := path.Dir(p); parent != p {
		if err := t.mkdirAll(parent, mode); err != nil {
			return err
		}
	}
	r, err := t.resolve(p)
	if err != nil {
		return err
	}
	t.mkdir(r, mode)
	return nil
}

// chown changes a resolved entry's owner, recording the change.
func (t *tree) chown(p string, uid, gid int) {
	r, err := t.resolve(p)
	if err != nil {
		return
	}
	if n := t.nodes[r]; n != nil && (n.UID != uid || n.GID != gid) {
		c := *n
		c.UID, c.GID = uid, gid
		t.set(r, &c)
	}
}

// chmod changes a resolved entry's permission bits.
func (t *tree) chmod(p string, mode int64) {
	r, err := t.resolve(p)
	if err != nil {
		return
	}
	if n := t.nodes[r]; n != nil && n.Mode != mode {
		c := *n
		c.Mode = mode
		t.set(r, &c)
	}
}

// remove deletes a non-directory entry, or an empty directory.
func (t *tree) remove(p string) error {
	p = path.Clean(p)
	n := t.nodes[p]
	if n == nil {
		return nil
	}
	if n.isDir() {
		prefix := p + "/"
		for q := range t.nodes {
			if strings.HasPrefix(q, prefix) {
				return fmt.Errorf("replacing the non-empty directory %s is not performed by a direct build", p)
			}
		}
	}
	delete(t.nodes, p)
	t.changed[p] = true
	return nil
}

// takeChanges returns the paths changed since the last call, sorted, and
// forgets them. The root is never among them: Kaniko's layers hold no
// entry for "/", so a COPY into "/" leaves the base's root as it is.
func (t *tree) takeChanges() []string {
	paths := make([]string, 0, len(t.changed))
	for p := range t.changed {
		if p != "/" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	t.changed = map[string]bool{}
	return paths
}

// numericOwner parses a --chown or USER value made of numeric ids:
// "uid" or "uid:gid". Without a group, the group is the uid, as Kaniko
// does.
func numericOwner(s string) (uid, gid int, err error) {
	u, g, hasGroup := strings.Cut(s, ":")
	uid, err = strconv.Atoi(u)
	if err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("%q is not a numeric user id", u)
	}
	if !hasGroup || g == "" {
		return uid, uid, nil
	}
	gid, err = strconv.Atoi(g)
	if err != nil || gid < 0 {
		return 0, 0, fmt.Errorf("%q is not a numeric group id", g)
	}
	return uid, gid, nil
}

// activeOwner is the owner Kaniko gives to what COPY and WORKDIR create:
// --chown, else the image's USER, else root. Names cannot be resolved
// without the image's /etc/passwd, so they are not eligible; "root" is.
func activeOwner(user, chown string) (uid, gid int, err error) {
	uid, gid = 0, 0
	for _, spec := range []string{user, chown} {
		if spec == "" {
			continue
		}
		if spec == "root" || spec == "root:root" {
			uid, gid = 0, 0
			continue
		}
		u, g, err := numericOwner(spec)
		if err != nil {
			return 0, 0, err
		}
		uid, gid = u, g
	}
	return uid, gid, nil
}
