package buildcontext

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultDockerfile is the Dockerfile path used when none is given.
const DefaultDockerfile = "Dockerfile"

// InlineDockerfileName is where an inline Dockerfile is placed in the
// archive. The name is unusual on purpose so that it hardly ever
// collides with a file of the user's context; Validate rejects a context
// that has it.
const InlineDockerfileName = ".onesbuild-inline.Dockerfile"

// InlineDockerignoreName is the ignore file generated next to an inline
// Dockerfile: the one Kaniko (and BuildKit) read for that Dockerfile. It
// holds the context's .dockerignore patterns and two more that exclude
// the generated files, so that COPY . never copies them into the image,
// with either executor. Adding it changed the hash of every context with
// an inline Dockerfile once: the first plan after the upgrade rebuilds
// an image of a context directory with an inline Dockerfile, whose hash
// the provider compares with the one built; an image of generated files
// keeps its recorded hash until its configuration next changes.
const InlineDockerignoreName = InlineDockerfileName + ignoreFileSuffix

// epoch is the modification time of every entry; fixed so that touching a
// file does not change the archive.
var epoch = time.Unix(0, 0).UTC()

// Source is a build context. Exactly one of Dir and Files is used; when
// DockerfileInline is set it is added to the archive at
// InlineDockerfileName and overrides DockerfilePath. Either way the
// ignore file <Dockerfile>.dockerignore applies when it exists, and the
// context's .dockerignore otherwise, as BuildKit and Kaniko choose.
type Source struct {
	// Dir is a local directory.
	Dir string
	// Files maps slash-separated paths to file contents.
	Files map[string]string
	// DockerfilePath is the Dockerfile's path inside the context.
	DockerfilePath string
	// DockerfileInline is the Dockerfile's content, when not a file.
	DockerfileInline string
}

// Summary describes an archive that was written.
type Summary struct {
	// SHA256 is "sha256:<hex>" of the uncompressed tar stream.
	SHA256 string
	// Files is the number of regular files in the archive.
	Files int
	// Bytes is the total size of the regular files' contents.
	Bytes int64
}

// Dockerfile returns the path Kaniko should read the Dockerfile from.
func (s Source) Dockerfile() string {
	if s.DockerfileInline != "" {
		return InlineDockerfileName
	}
	if s.DockerfilePath == "" {
		return DefaultDockerfile
	}
	return s.DockerfilePath
}

// Validate checks what can be checked without writing the archive: the
// directory exists, the Dockerfile is present (a regular file, or a
// symbolic link to one inside the context) and paths stay inside the
// context. It reads no file's content.
func (s Source) Validate() error {
	if (s.Dir == "") == (s.Files == nil) {
		return errors.New("exactly one of a context directory and context files must be given")
	}
	df := s.Dockerfile()
	if err := checkRelative(df); err != nil {
		return fmt.Errorf("dockerfile path: %w", err)
	}
	cleaned := map[string]string{}
	for p := range s.Files {
		if err := checkRelative(p); err != nil {
			return fmt.Errorf("context file %q: %w", p, err)
		}
		c := path.Clean(p)
		if other, dup := cleaned[c]; dup {
			a, b := other, p
			if b < a {
				a, b = b, a
			}
			return &DuplicateFileError{Path: c, Keys: [2]string{a, b}}
		}
		cleaned[c] = p
	}
	if s.DockerfileInline != "" {
		return s.checkGeneratedNames()
	}
	if s.Dir != "" {
		info, err := os.Stat(s.Dir)
		if err != nil {
			return fmt.Errorf("context directory: %w", err)
		}
		if !info.IsDir() {
			return fmt.Errorf("context directory %s is not a directory", s.Dir)
		}
	}
	_, err := resolveDockerfile(s.tree().lstat, df, s.where())
	return err
}

// checkGeneratedNames rejects a context that has a file where an inline
// Dockerfile's generated files go: the archive would hold two entries of
// one name, and which one the builder read would be anyone's guess.
func (s Source) checkGeneratedNames() error {
	for _, name := range []string{InlineDockerfileName, InlineDockerignoreName} {
		exists := false
		if s.Files != nil {
			for p := range s.Files {
				exists = exists || path.Clean(p) == name
			}
		} else {
			_, err := os.Lstat(filepath.Join(s.Dir, name))
			exists = err == nil
		}
		if exists {
			return fmt.Errorf("the context has a file %q, where the inline Dockerfile's generated files go: rename it, or use a Dockerfile of the context instead of an inline one", name)
		}
	}
	return nil
}

// tree is a context's own files, the generated ones aside.
type tree struct {
	lstat lstatFunc
	// readFile reads a regular file by a path free of links.
	readFile func(name string) ([]byte, error)
}

// tree reads the files of Dir or Files.
func (s Source) tree() tree {
	if s.Files == nil {
		return fsTree(dirFS(s.Dir))
	}
	entries := map[string]Entry{}
	for p := range s.Files {
		entries[path.Clean(p)] = Entry{Type: tar.TypeReg}
	}
	return tree{lstat: entriesLstat(entries), readFile: func(name string) ([]byte, error) {
		for p, content := range s.Files {
			if path.Clean(p) == name {
				return []byte(content), nil
			}
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}}
}

// fsTree reads the files of fsys.
func fsTree(fsys fs.FS) tree {
	return tree{lstat: fsLstat(fsys), readFile: func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) }}
}

// where names the context in errors.
func (s Source) where() string {
	if s.Files != nil {
		return "the context files"
	}
	return s.Dir
}

// DuplicateFileError reports two context_files keys naming the same
// file, such as "Dockerfile" and "./Dockerfile"; which content wins would
// depend on map order.
type DuplicateFileError struct {
	Path string
	Keys [2]string
}

func (e *DuplicateFileError) Error() string {
	return fmt.Sprintf("context files %q and %q are the same file %q", e.Keys[0], e.Keys[1], e.Path)
}

// MissingDockerfileError reports that the Dockerfile is not in the context.
type MissingDockerfileError struct {
	Path string
	In   string
}

func (e *MissingDockerfileError) Error() string {
	return fmt.Sprintf("dockerfile %q not found in %s", e.Path, e.In)
}

func checkRelative(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	if path.IsAbs(p) || strings.HasPrefix(p, "\\") {
		return fmt.Errorf("%q must be relative to the context", p)
	}
	clean := path.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("%q leaves the context", p)
	}
	return nil
}

// Hash returns the archive's SHA256 without keeping the archive.
func (s Source) Hash(ctx context.Context) (Summary, error) {
	return s.WriteTar(ctx, io.Discard)
}

// WriteTar writes the uncompressed archive to w. It stops with ctx's
// error when ctx is done, between entries and within a file's content,
// so that interrupting Terraform does not wait for a large context.
func (s Source) WriteTar(ctx context.Context, w io.Writer) (Summary, error) {
	sum, _, err := s.writeTar(ctx, w)
	return sum, err
}

// writeTar writes the archive and also returns the clean paths of the
// entries that are sent only for the builder.
func (s Source) writeTar(ctx context.Context, w io.Writer) (Summary, map[string]bool, error) {
	if err := s.Validate(); err != nil {
		return Summary{}, nil, err
	}
	entries, err := s.entries(ctx)
	if err != nil {
		return Summary{}, nil, err
	}
	return writeEntries(ctx, w, entries, nil)
}

// writeEntries archives entries to w. With digests, it also records the
// SHA-256 (hex) of each regular file's content by entry name.
func writeEntries(ctx context.Context, w io.Writer, entries []entry, digests map[string]string) (Summary, map[string]bool, error) {
	h := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(w, h))
	var sum Summary
	builderOnly := map[string]bool{}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return Summary{}, nil, err
		}
		if err := e.write(ctx, tw, digests); err != nil {
			return Summary{}, nil, fmt.Errorf("archiving %s: %w", e.name, err)
		}
		if e.typeflag == tar.TypeReg {
			sum.Files++
			sum.Bytes += e.size
		}
		if e.builderOnly {
			builderOnly[path.Clean(e.name)] = true
		}
	}
	if err := tw.Close(); err != nil {
		return Summary{}, nil, err
	}
	sum.SHA256 = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return sum, builderOnly, nil
}

type entry struct {
	name     string // slash-separated, no leading "./"; directories end in "/"
	typeflag byte
	mode     int64
	size     int64
	linkname string
	open     func() (io.ReadCloser, error)
	// stat identifies a regular file of a directory for HashCache; nil
	// when the file system does not tell (see statKeyOf).
	stat *statKey
	// content is a generated file's content, in memory.
	content *string
	// builderOnly marks what the ignore file excludes but the builder
	// reads (the Dockerfile, the ignore file): sent, never copied. It is
	// not part of the archive's bytes.
	builderOnly bool
}

func (e entry) write(ctx context.Context, tw *tar.Writer, digests map[string]string) error {
	hdr := &tar.Header{
		Typeflag: e.typeflag,
		Name:     e.name,
		Mode:     e.mode,
		Size:     e.size,
		Linkname: e.linkname,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if e.typeflag != tar.TypeReg {
		return nil
	}
	rc, err := e.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	var out io.Writer = tw
	var fh hash.Hash
	if digests != nil {
		fh = sha256.New()
		out = io.MultiWriter(tw, fh)
	}
	n, err := io.Copy(out, ctxReader{ctx: ctx, r: rc})
	if err != nil {
		return err
	}
	if n != e.size {
		return fmt.Errorf("file changed size while archiving (%d bytes, expected %d)", n, e.size)
	}
	if fh != nil {
		digests[e.name] = hex.EncodeToString(fh.Sum(nil))
	}
	return nil
}

// ctxReader stops a copy when ctx is done: a file of many gigabytes
// would otherwise be read to its end after an interrupt.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (s Source) entries(ctx context.Context) ([]entry, error) {
	sel, err := s.selection(s.tree())
	if err != nil {
		return nil, err
	}
	var entries []entry
	if s.Files != nil {
		entries, err = fileEntries(s.Files, sel)
	} else {
		entries, err = dirEntries(ctx, s.Dir, sel)
	}
	if err != nil {
		return nil, err
	}
	if s.DockerfileInline != "" {
		for name, content := range map[string]string{InlineDockerfileName: s.DockerfileInline, InlineDockerignoreName: string(sel.generated)} {
			_, builderOnly, err := sel.decide(name)
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry{
				name: name, typeflag: tar.TypeReg, mode: 0o644, size: int64(len(content)),
				open:        func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil },
				content:     &content,
				builderOnly: builderOnly,
			})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

// fileEntries lists the entries of generated files that sel sends, and
// the directories holding them that it does not exclude.
func fileEntries(files map[string]string, sel *selection) ([]entry, error) {
	dirs := map[string]bool{}
	var entries []entry
	for p, content := range files {
		p = path.Clean(p)
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		ok, builderOnly, err := sel.decide(p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		entries = append(entries, entry{
			name: p, typeflag: tar.TypeReg, mode: 0o644, size: int64(len(content)),
			open:        func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil },
			content:     &content,
			builderOnly: builderOnly,
		})
	}
	for d := range dirs {
		if ok, _, err := sel.decide(d); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		entries = append(entries, entry{name: d + "/", typeflag: tar.TypeDir, mode: 0o755})
	}
	return entries, nil
}

// dirEntries lists the entries of the directory root that sel sends.
func dirEntries(ctx context.Context, root string, sel *selection) ([]entry, error) {
	// A context directory that is itself a symlink (a "current" link to a
	// release directory, say) means its target, which errors then name.
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("resolving context directory: %w", err)
	}
	entries, err := walkEntries(ctx, dirFS(root), sel)
	if err != nil {
		return nil, fmt.Errorf("walking context directory %s: %w", root, err)
	}
	return entries, nil
}

// walkEntries lists the entries of the context in fsys that sel sends.
// It reads the context through an fs.FS (a dirFS in production) so that
// tests can give it a file system that is fast, disk-free, or fails on
// purpose.
func walkEntries(ctx context.Context, fsys fs.FS, sel *selection) ([]entry, error) {
	var entries []entry
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		ok, builderOnly, err := sel.decide(p)
		if err != nil {
			return err
		}
		if !ok {
			if d.IsDir() && sel.prunes(p) {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		switch {
		case info.Mode().IsRegular():
			e := entry{
				name: p, typeflag: tar.TypeReg, mode: mode, size: info.Size(),
				open:        func() (io.ReadCloser, error) { return fsys.Open(p) },
				builderOnly: builderOnly,
			}
			if st, ok := statKeyOf(info); ok {
				e.stat = &st
			}
			entries = append(entries, e)
		case info.IsDir():
			entries = append(entries, entry{name: p + "/", typeflag: tar.TypeDir, mode: mode})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			entries = append(entries, entry{name: p, typeflag: tar.TypeSymlink, mode: 0o777, linkname: target, builderOnly: builderOnly})
		default:
			// Sockets, devices and pipes cannot be part of an image
			// context; Docker skips them too.
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// DockerfileContent reads just the Dockerfile: the inline one, the entry
// of Files, or the file in Dir, through symbolic links inside the
// context only. Plans use it to decide what can build the context
// without archiving the whole context; Snapshot.DockerfileContent reads
// the same bytes from the archive.
func (s Source) DockerfileContent() ([]byte, error) {
	if s.DockerfileInline != "" {
		return []byte(s.DockerfileInline), nil
	}
	if err := checkRelative(s.Dockerfile()); err != nil {
		return nil, fmt.Errorf("dockerfile path: %w", err)
	}
	t := s.tree()
	r, err := resolveDockerfile(t.lstat, s.Dockerfile(), s.where())
	if err != nil {
		return nil, err
	}
	return t.readFile(r.path)
}
