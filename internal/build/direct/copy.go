package direct

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// contextFiles is the build context as Kaniko's COPY sees it after
// unpacking: every entry of the snapshot by its clean relative path, with
// the directories the archive implies, except what was sent only for the
// builder (an excluded Dockerfile or ignore file), which Kaniko's COPY
// skips.
type contextFiles struct {
	entries map[string]buildcontext.Entry
	// paths lists every path in walk order ("." first), as Kaniko's
	// RelativeFiles does.
	paths []string
	// builderOnly are the entries sent for the builder alone: a COPY
	// that names one copies nothing, as Kaniko skips excluded files.
	builderOnly map[string]bool
	// implied are directories the archive leaves out because the ignore
	// rules exclude them, though not everything below them (`data/`
	// then `!data/*.yaml`): Kaniko's COPY skips such a directory, so it
	// is neither created nor chowned as a source; a file below it
	// creates it as a missing parent.
	implied map[string]bool
}

func newContextFiles(index map[string]buildcontext.Entry) *contextFiles {
	c := &contextFiles{entries: map[string]buildcontext.Entry{".": {Type: tar.TypeDir, Mode: 0o755}}, builderOnly: map[string]bool{}, implied: map[string]bool{}}
	for p, e := range index {
		if e.BuilderOnly {
			c.builderOnly[p] = true
			continue
		}
		c.entries[p] = e
		// Directories the archive leaves out are created 0755 on unpacking.
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := c.entries[d]; !ok {
				c.entries[d] = buildcontext.Entry{Type: tar.TypeDir, Mode: 0o755}
				c.implied[d] = true
			}
		}
	}
	for p, e := range index {
		// A directory the archive holds after all (walk order differs
		// from the index's) is not implied.
		if !e.BuilderOnly && e.Type == tar.TypeDir {
			delete(c.implied, p)
		}
	}
	for p := range c.entries {
		c.paths = append(c.paths, p)
	}
	// filepath.Walk visits a directory before its contents, each
	// directory's entries in lexical order.
	sort.Slice(c.paths, func(i, j int) bool { return walkLess(c.paths[i], c.paths[j]) })
	return c
}

// walkLess orders paths as a depth-first lexical walk does.
func walkLess(a, b string) bool {
	if a == "." || b == "." {
		return a == "." && b != "."
	}
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

// under lists the paths inside dir (dir itself first, as "."), relative
// to dir, in walk order.
func (c *contextFiles) under(dir string) []string {
	if dir == "." {
		return c.paths
	}
	out := []string{"."}
	prefix := dir + "/"
	for _, p := range c.paths {
		if strings.HasPrefix(p, prefix) {
			out = append(out, strings.TrimPrefix(p, prefix))
		}
	}
	return out
}

// stageState is the image being assembled: its file tree, its config and
// the build arguments in effect.
type stageState struct {
	tree    *tree
	ctx     *contextFiles
	workDir string
	user    string
}

func containsWildcards(s string) bool { return strings.ContainsAny(s, "*?[") }

// resolveSources expands wildcards against the context, as Kaniko does:
// a pattern matches any path of the context, directories included.
func (s *stageState) resolveSources(srcs []string) ([]string, error) {
	wild := false
	for _, src := range srcs {
		wild = wild || containsWildcards(src)
	}
	if !wild {
		return srcs, nil
	}
	var out []string
	for _, src := range srcs {
		src = path.Clean(src)
		for _, p := range s.ctx.paths {
			// An absolute pattern is matched against the path from the
			// context root, as Kaniko matches it against "/" + path.
			candidate := p
			if path.IsAbs(src) {
				candidate = path.Join("/", p)
			}
			if ok, err := path.Match(src, candidate); err != nil {
				return nil, err
			} else if ok || src == candidate {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// contextPath maps a COPY source to its clean path inside the context.
func contextPath(src string) (string, error) {
	p := path.Clean("/" + src)
	if p == "/" {
		return ".", nil
	}
	return strings.TrimPrefix(p, "/"), nil
}

// destinationPath is Kaniko's DestinationFilepath on the image tree.
func (s *stageState) destinationPath(srcIsDir bool, srcName, dest string) string {
	newDest := dest
	if !path.IsAbs(newDest) {
		cwd := s.workDir
		if cwd == "" {
			cwd = "/"
		}
		newDest = path.Join(cwd, newDest)
		if strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, ".") {
			newDest += "/"
		}
	}
	if s.isDestDir(newDest) {
		newDest = path.Join(newDest, srcName)
	}
	if srcIsDir && !strings.HasSuffix(newDest, "/") {
		newDest += "/"
	}
	return newDest
}

func (s *stageState) isDestDir(p string) bool {
	if n := s.tree.stat(p); n != nil {
		return n.isDir()
	}
	return strings.HasSuffix(p, "/") || p == "."
}

// resolveIfSymlink resolves symlinks in the longest existing prefix of
// an absolute destination, keeping the components that do not exist.
// Like Kaniko's (which lstats the path first), it fails when a component
// that exists is not a directory: a directory copied onto a file.
func (s *stageState) resolveIfSymlink(dest string) (string, error) {
	if s.tree.notDir(dest, strings.HasSuffix(dest, "/")) {
		return "", fmt.Errorf("resolving dest symlink: lstat %s: not a directory", dest)
	}
	var missing []string
	p := path.Clean(dest)
	for p != "/" {
		if s.tree.lstat(p) == nil {
			missing = append(missing, path.Base(p))
			p = path.Dir(p)
			continue
		}
		r, err := s.tree.resolve(p)
		if err != nil {
			return "", err
		}
		p = r
		break
	}
	for i := len(missing) - 1; i >= 0; i-- {
		p = path.Join(p, missing[i])
	}
	return p, nil
}

// copyCommand performs COPY from the context. chown and chmod are already
// expanded; srcs and dest too.
func (s *stageState) copyCommand(srcs []string, dest, chown, chmod string) error {
	uid, gid, err := activeOwner(s.user, chown)
	if err != nil {
		return err
	}
	mode, useDefault, err := parseChmod(chmod)
	if err != nil {
		return err
	}
	resolved, err := s.resolveSources(srcs)
	if err != nil {
		return err
	}
	// A wildcard that matches nothing copies nothing: Kaniko, unlike
	// Docker, does not fail.
	if err := s.validSources(srcs, resolved, dest); err != nil {
		return err
	}
	for _, src := range resolved {
		rel, err := contextPath(src)
		if err != nil {
			return err
		}
		if s.ctx.builderOnly[rel] {
			continue // excluded, sent for the builder: Kaniko skips it
		}
		e, ok := s.ctx.entries[rel]
		if !ok {
			return fmt.Errorf("%s: no such file or directory in the build context", src)
		}
		isDir := e.Type == tar.TypeDir
		name := path.Base(rel)
		if isDir {
			name = ""
		}
		destPath := s.destinationPath(isDir, name, dest)
		destPath, err = s.resolveIfSymlink(destPath)
		if err != nil {
			return err
		}
		switch {
		case isDir:
			err = s.copyDir(rel, destPath, uid, gid, mode, useDefault)
		case e.Type == tar.TypeSymlink:
			err = s.copySymlink(e, destPath)
		default:
			err = s.copyFile(rel, e, destPath, uid, gid, mode, useDefault)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// validSources applies Kaniko's IsSrcsValid: several sources, or a
// wildcard that brings several files, need a destination directory;
// one directory source makes its destination a directory.
func (s *stageState) validSources(srcs, resolved []string, dest string) error {
	const several = "when specifying multiple sources in a COPY command, destination must be a directory and end in '/'"
	if !containsAnyWildcards(srcs) {
		total := 0
		for _, src := range srcs {
			if rel, err := contextPath(src); err == nil && !s.ctx.builderOnly[rel] {
				total++
			}
		}
		if total > 1 && !s.destIsDir(dest) {
			return errors.New(several)
		}
	}
	if len(resolved) == 1 {
		if rel, err := contextPath(resolved[0]); err == nil {
			if e, ok := s.ctx.entries[rel]; ok && e.Type == tar.TypeDir {
				return nil
			}
		}
	}
	files := 0
	for _, src := range resolved {
		rel, err := contextPath(src)
		if err != nil {
			return err
		}
		if _, ok := s.ctx.entries[rel]; ok {
			files += len(s.ctx.under(rel))
		}
	}
	if !s.destIsDir(dest) && files > 1 {
		return errors.New(several)
	}
	return nil
}

func containsAnyWildcards(srcs []string) bool {
	for _, s := range srcs {
		if containsWildcards(s) {
			return true
		}
	}
	return false
}

// destIsDir is Kaniko's IsDestDir: the destination exists as a
// directory, read as Kaniko's process reads it (relative to "/", not to
// WORKDIR), or it ends in "/" or is ".".
func (s *stageState) destIsDir(dest string) bool {
	if n := s.tree.stat(path.Join("/", dest)); n != nil {
		return n.isDir()
	}
	return strings.HasSuffix(dest, "/") || dest == "."
}

// parseChmod reads --chmod as an octal mode. Kaniko applies it as a Go
// fs.FileMode, in which 0o4000, 0o2000 and 0o1000 are not the setuid,
// setgid and sticky bits: they are dropped, and only the permission
// bits reach the image.
func parseChmod(chmod string) (mode int64, useDefault bool, err error) {
	if chmod == "" {
		return 0, true, nil
	}
	m, err := strconv.ParseUint(chmod, 8, 32)
	if err != nil {
		return 0, false, fmt.Errorf("--chmod=%s is not an octal mode", chmod)
	}
	if m > 0o7777 {
		return 0, false, &NotEligibleError{Instruction: "COPY", Reason: "--chmod=" + chmod + " sets bits beyond the permissions, which Kaniko reads as file types"}
	}
	return int64(m & 0o777), false, nil
}

// createParentDirectory creates the missing parents of p with mode 0755
// and the given owner (uid < 0: root), as Kaniko does for a file.
func (s *stageState) createParentDirectory(p string, uid, gid int) error {
	dir := path.Dir(p)
	if n := s.tree.lstat(dir); n != nil {
		if n.isSymlink() {
			return errors.New("destination cannot be a symlink")
		}
		return nil
	}
	var missing []string
	for d := dir; d != "/" && s.tree.lstat(d) == nil; d = path.Dir(d) {
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		n := s.tree.mkdir(missing[i], 0o755)
		if uid >= 0 {
			n.UID, n.GID = uid, gid
		}
	}
	return nil
}

func (s *stageState) copyFile(rel string, e buildcontext.Entry, dest string, uid, gid int, mode int64, useDefault bool) error {
	if err := s.createParentDirectory(dest, uid, gid); err != nil {
		return err
	}
	if n := s.tree.lstat(dest); n != nil && n.isDir() {
		return fmt.Errorf("cannot copy file %s over the directory %s", rel, dest)
	}
	if useDefault {
		mode = e.Mode
	}
	s.tree.set(dest, &node{Type: tar.TypeReg, Mode: mode, UID: uid, GID: gid, src: rel, size: e.Size})
	return nil
}

// copySymlink copies a link as it is, owned by root.
func (s *stageState) copySymlink(e buildcontext.Entry, dest string) error {
	if err := s.tree.remove(dest); err != nil {
		return err
	}
	if err := s.createParentDirectory(dest, -1, -1); err != nil {
		return err
	}
	s.tree.set(dest, &node{Type: tar.TypeSymlink, Mode: 0o777, Link: e.Link})
	return nil
}

// mkdirAllWithPermissions is Kaniko's MkdirAllWithPermissions: a file in
// the way is removed, missing directories are created with mode, and the
// directory itself (created or not) is chowned.
func (s *stageState) mkdirAllWithPermissions(p string, mode int64, uid, gid int) error {
	if n := s.tree.lstat(p); n != nil && !n.isDir() {
		if err := s.tree.remove(p); err != nil {
			return err
		}
	}
	if err := s.tree.mkdirAll(p, mode); err != nil {
		return err
	}
	s.tree.chown(p, uid, gid)
	return nil
}

func (s *stageState) copyDir(rel, dest string, uid, gid int, chmod int64, useDefault bool) error {
	for _, file := range s.ctx.under(rel) {
		srcPath := path.Join(rel, file)
		e := s.ctx.entries[srcPath]
		destPath := path.Join(dest, file)
		switch {
		case s.ctx.implied[srcPath]:
			// Excluded, though files below it are not: Kaniko skips it.
			continue
		case file == ".":
			if err := s.mkdirAllWithPermissions(destPath, 0o755, uid, gid); err != nil {
				return err
			}
		case e.Type == tar.TypeDir:
			if err := s.mkdirAllWithPermissions(destPath, e.Mode, uid, gid); err != nil {
				return err
			}
			if !useDefault {
				s.tree.chmod(destPath, chmod)
			}
		case e.Type == tar.TypeSymlink:
			if err := s.copySymlink(e, destPath); err != nil {
				return err
			}
		default:
			if err := s.copyFile(srcPath, e, destPath, uid, gid, chmod, useDefault); err != nil {
				return err
			}
		}
	}
	return nil
}

// workdir performs WORKDIR: the new working directory is created, owned
// by the active user, when it does not exist.
func (s *stageState) workdir(p string) error {
	if !path.IsAbs(p) {
		base := s.workDir
		if base == "" {
			base = "/"
		}
		p = path.Join(base, p)
	}
	s.workDir = path.Clean(p)
	if s.tree.stat(s.workDir) != nil {
		return nil
	}
	uid, gid, err := activeOwner(s.user, "")
	if err != nil {
		return err
	}
	return s.mkdirAllWithPermissions(s.workDir, 0o755, uid, gid)
}

// cleanFilepath cleans an expanded path and keeps a trailing slash, as
// Kaniko's ResolveEnvironmentReplacement does for file paths.
func cleanFilepath(p string) string {
	dir := strings.HasSuffix(p, "/")
	p = filepath.ToSlash(path.Clean(p))
	if dir && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}
