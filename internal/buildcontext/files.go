package buildcontext

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ReadAtCloser reads a file from the start or at any offset.
type ReadAtCloser interface {
	io.Reader
	io.ReaderAt
	io.Closer
}

// File is one regular file a context sends, as RegularFiles lists it: what a
// check of the files COPY copies needs, without archiving the context.
type File struct {
	// Path is clean and slash-separated, relative to the context.
	Path string
	Mode int64
	Size int64
	// BuilderOnly marks a file sent for the builder alone (an excluded
	// Dockerfile or ignore file), which COPY does not copy.
	BuilderOnly bool
	open        func() (ReadAtCloser, error)
}

// Open returns the file's content.
func (f File) Open() (ReadAtCloser, error) { return f.open() }

// RegularFiles lists the regular files the source sends, sorted by path, with
// the same ignore rules as the archive, reading none of them.
func (s Source) RegularFiles(ctx context.Context) ([]File, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	entries, err := s.entries(ctx)
	if err != nil {
		return nil, err
	}
	root := s.Dir
	var files []File
	for _, e := range entries {
		if e.typeflag != tar.TypeReg {
			continue
		}
		f := File{Path: e.name, Mode: e.mode, Size: e.size, BuilderOnly: e.builderOnly}
		switch content, generated := s.generatedContent(e.name); {
		case generated:
			f.open = func() (ReadAtCloser, error) { return nopCloser{strings.NewReader(content)}, nil }
		default:
			name := filepath.Join(resolvedRoot(root), filepath.FromSlash(e.name))
			f.open = func() (ReadAtCloser, error) { return os.Open(name) }
		}
		files = append(files, f)
	}
	return files, nil
}

// generatedContent is the content of a file the source makes rather than
// reads from disk: a context file or the inline Dockerfile's.
func (s Source) generatedContent(name string) (string, bool) {
	if s.DockerfileInline != "" && name == InlineDockerfileName {
		return s.DockerfileInline, true
	}
	if s.DockerfileInline != "" && name == InlineDockerignoreName {
		sel, err := s.selection(s.tree())
		if err == nil {
			return string(sel.generated), true
		}
	}
	for p, content := range s.Files {
		if path.Clean(p) == name {
			return content, true
		}
	}
	return "", false
}

// RegularFiles lists the snapshot's regular files, sorted by path.
func (s *Snapshot) RegularFiles() ([]File, error) {
	index, err := s.Index()
	if err != nil {
		return nil, err
	}
	var files []File
	for p, e := range index {
		if e.Type != tar.TypeReg {
			continue
		}
		e := e
		files = append(files, File{Path: p, Mode: e.Mode, Size: e.Size, BuilderOnly: e.BuilderOnly,
			open: func() (ReadAtCloser, error) { return s.OpenEntry(e) }})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

// resolvedRoot is the context directory with its own links followed, as
// the walk reads it.
func resolvedRoot(root string) string {
	if r, err := filepath.EvalSymlinks(root); err == nil {
		return r
	}
	return root
}
