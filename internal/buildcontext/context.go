package buildcontext

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// DefaultDockerfile is the Dockerfile path used when none is given.
const DefaultDockerfile = "Dockerfile"

// InlineDockerfileName is where an inline Dockerfile is placed in the
// archive. The name is unusual on purpose so it never collides with a
// file of the user's context.
const InlineDockerfileName = ".onesbuild-inline.Dockerfile"

// epoch is the modification time of every entry; fixed so that touching a
// file does not change the archive.
var epoch = time.Unix(0, 0).UTC()

// Source is a build context. Exactly one of Dir and Files is used; when
// DockerfileInline is set it is added to the archive at
// InlineDockerfileName and overrides DockerfilePath.
type Source struct {
	// Dir is a local directory; its .dockerignore is honoured.
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
// directory exists, the Dockerfile is present and paths stay inside the
// context.
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
		return nil
	}
	if s.Files != nil {
		if _, ok := s.Files[path.Clean(df)]; !ok {
			return &MissingDockerfileError{Path: df, In: "the context files"}
		}
		return nil
	}
	info, err := os.Stat(s.Dir)
	if err != nil {
		return fmt.Errorf("context directory: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("context directory %s is not a directory", s.Dir)
	}
	dfInfo, err := os.Stat(filepath.Join(s.Dir, filepath.FromSlash(df)))
	if err != nil || !dfInfo.Mode().IsRegular() {
		return &MissingDockerfileError{Path: df, In: s.Dir}
	}
	return nil
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
func (s Source) Hash() (Summary, error) {
	return s.WriteTar(io.Discard)
}

// WriteTar writes the uncompressed archive to w.
func (s Source) WriteTar(w io.Writer) (Summary, error) {
	if err := s.Validate(); err != nil {
		return Summary{}, err
	}
	entries, err := s.entries()
	if err != nil {
		return Summary{}, err
	}
	h := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(w, h))
	var sum Summary
	for _, e := range entries {
		if err := e.write(tw); err != nil {
			return Summary{}, fmt.Errorf("archiving %s: %w", e.name, err)
		}
		if e.typeflag == tar.TypeReg {
			sum.Files++
			sum.Bytes += e.size
		}
	}
	if err := tw.Close(); err != nil {
		return Summary{}, err
	}
	sum.SHA256 = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return sum, nil
}

type entry struct {
	name     string // slash-separated, no leading "./"; directories end in "/"
	typeflag byte
	mode     int64
	size     int64
	linkname string
	open     func() (io.ReadCloser, error)
}

func (e entry) write(tw *tar.Writer) error {
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
	n, err := io.Copy(tw, rc)
	if err != nil {
		return err
	}
	if n != e.size {
		return fmt.Errorf("file changed size while archiving (%d bytes, expected %d)", n, e.size)
	}
	return nil
}

func (s Source) entries() ([]entry, error) {
	var entries []entry
	var err error
	if s.Files != nil {
		entries = fileEntries(s.Files)
	} else {
		entries, err = dirEntries(s.Dir, s.Dockerfile())
		if err != nil {
			return nil, err
		}
	}
	if s.DockerfileInline != "" {
		content := s.DockerfileInline
		entries = append(entries, entry{
			name: InlineDockerfileName, typeflag: tar.TypeReg, mode: 0o644, size: int64(len(content)),
			open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil },
		})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

func fileEntries(files map[string]string) []entry {
	dirs := map[string]bool{}
	var entries []entry
	for p, content := range files {
		p = path.Clean(p)
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		entries = append(entries, entry{
			name: p, typeflag: tar.TypeReg, mode: 0o644, size: int64(len(content)),
			open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil },
		})
	}
	for d := range dirs {
		entries = append(entries, entry{name: d + "/", typeflag: tar.TypeDir, mode: 0o755})
	}
	return entries
}

// alwaysSent are sent even when .dockerignore excludes them, as Docker
// does: the builder needs both.
func alwaysSent(rel, dockerfile string) bool {
	return rel == ".dockerignore" || rel == path.Clean(dockerfile)
}

// isAncestor reports whether dir holds the file p (both slash-separated,
// relative to the context).
func isAncestor(dir, p string) bool {
	return strings.HasPrefix(path.Clean(p), dir+"/")
}

func dirEntries(root, dockerfile string) ([]entry, error) {
	// A context directory that is itself a symlink (a "current" link to a
	// release directory, say) means its target: WalkDir does not follow
	// a symlinked root and would archive nothing.
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("resolving context directory: %w", err)
	}
	matcher, err := readDockerignore(root)
	if err != nil {
		return nil, err
	}
	var entries []entry
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if matcher != nil && !alwaysSent(rel, dockerfile) {
			excluded, err := matcher.MatchesOrParentMatches(rel)
			if err != nil {
				return fmt.Errorf("matching %s against .dockerignore: %w", rel, err)
			}
			if excluded {
				// A later "!pattern" may re-include something below an
				// excluded directory, so only prune when there is none.
				if d.IsDir() && !matcher.Exclusions() && !isAncestor(rel, dockerfile) {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		switch {
		case info.Mode().IsRegular():
			entries = append(entries, entry{
				name: rel, typeflag: tar.TypeReg, mode: mode, size: info.Size(),
				open: func() (io.ReadCloser, error) { return os.Open(p) },
			})
		case info.IsDir():
			entries = append(entries, entry{name: rel + "/", typeflag: tar.TypeDir, mode: mode})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			entries = append(entries, entry{name: rel, typeflag: tar.TypeSymlink, mode: 0o777, linkname: target})
		default:
			// Sockets, devices and pipes cannot be part of an image
			// context; Docker skips them too.
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking context directory %s: %w", root, err)
	}
	return entries, nil
}

func readDockerignore(root string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading .dockerignore: %w", err)
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	m, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("parsing .dockerignore: %w", err)
	}
	return m, nil
}

// DockerfileContent reads just the Dockerfile: the inline one, the entry
// of Files, or the file in Dir. Plans use it to decide what can build the
// context without archiving the whole context.
func (s Source) DockerfileContent() ([]byte, error) {
	if s.DockerfileInline != "" {
		return []byte(s.DockerfileInline), nil
	}
	df := path.Clean(s.Dockerfile())
	if s.Files != nil {
		for p, content := range s.Files {
			if path.Clean(p) == df {
				return []byte(content), nil
			}
		}
		return nil, &MissingDockerfileError{Path: df, In: "the context files"}
	}
	return os.ReadFile(filepath.Join(s.Dir, filepath.FromSlash(df)))
}
