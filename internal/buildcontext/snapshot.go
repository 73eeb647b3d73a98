package buildcontext

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/klauspost/compress/gzip"
)

// Snapshot is a build context archived once into a temporary file. Every
// later use (the hash recorded in state and labels, the stream to
// Kaniko, the layers of a direct build) reads the snapshot, never the
// source again: the context's files are read exactly once per build, and
// what is built is exactly what was hashed, even if the directory
// changes meanwhile.
type Snapshot struct {
	// Summary describes the archive; Summary.SHA256 is the context hash.
	Summary
	// Dockerfile is the Dockerfile's path inside the archive, as
	// configured; it may be a symbolic link (see DockerfileContent).
	Dockerfile string
	path       string
	// builderOnly are the clean paths of the entries sent only for the
	// builder (see Entry.BuilderOnly).
	builderOnly map[string]bool
}

// Snapshot archives the source into a new file in dir (os.TempDir when
// empty). Remove the snapshot when done. When ctx is done it stops with
// ctx's error and leaves no file behind.
func (s Source) Snapshot(ctx context.Context, dir string) (*Snapshot, error) {
	f, err := os.CreateTemp(dir, "onesbuild-context-*.tar")
	if err != nil {
		return nil, fmt.Errorf("creating the context snapshot: %w", err)
	}
	sum, builderOnly, err := s.writeTar(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, err
	}
	return &Snapshot{Summary: sum, Dockerfile: path.Clean(s.Dockerfile()), path: f.Name(), builderOnly: builderOnly}, nil
}

// Open returns the uncompressed archive.
func (s *Snapshot) Open() (io.ReadCloser, error) { return os.Open(s.path) }

// WriteGzip writes the archive gzip-compressed, as Kaniko reads it from
// tar://stdin.
func (s *Snapshot) WriteGzip(w io.Writer) error {
	f, err := s.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := io.Copy(gz, f); err != nil {
		return err
	}
	return gz.Close()
}

// ReadFile returns the content of one regular file of the archive, by
// its slash-separated path.
func (s *Snapshot) ReadFile(name string) ([]byte, error) {
	name = path.Clean(name)
	var content []byte
	found := false
	err := s.Walk(func(hdr *tar.Header, r io.Reader) error {
		if hdr.Typeflag != tar.TypeReg || path.Clean(hdr.Name) != name {
			return nil
		}
		var err error
		if content, err = io.ReadAll(r); err != nil {
			return err
		}
		found = true
		return errStopWalk
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
	}
	return content, nil
}

// DockerfileContent returns the Dockerfile's content from the archive,
// found as Source.DockerfileContent finds it in the source: through the
// archive's symbolic links, inside the archive only. Executors read the
// Dockerfile with it, so that a build reads the bytes its plan read.
func (s *Snapshot) DockerfileContent() ([]byte, error) {
	index, err := s.Index()
	if err != nil {
		return nil, err
	}
	r, err := resolveDockerfile(entriesLstat(index), s.Dockerfile, "the context snapshot")
	if err != nil {
		return nil, err
	}
	rc, err := s.OpenEntry(index[r.path])
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

var errStopWalk = errors.New("stop walking")

// Walk calls fn for every entry of the archive in order, with a reader of
// the entry's content. fn returning an error stops the walk; that error
// is returned, except for the internal stop signal.
func (s *Snapshot) Walk(fn func(hdr *tar.Header, content io.Reader) error) error {
	f, err := s.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the context snapshot: %w", err)
		}
		if err := fn(hdr, tr); err != nil {
			if errors.Is(err, errStopWalk) {
				return nil
			}
			return err
		}
	}
}

// Remove deletes the snapshot's file.
func (s *Snapshot) Remove() error {
	if s == nil {
		return nil
	}
	err := os.Remove(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Entry describes one entry of a snapshot, by its clean relative path.
type Entry struct {
	Type byte
	Mode int64
	Size int64
	Link string
	// BuilderOnly marks an entry the ignore file excludes that is sent
	// all the same because the builder reads it: the Dockerfile, the
	// ignore file, a link leading to either. COPY must not copy it, as
	// Kaniko does not.
	BuilderOnly bool
	// offset is where a regular file's content starts in the archive.
	offset int64
}

// Index lists every entry of the snapshot by its clean relative path
// (directories without their trailing slash), with where each file's
// content lies, in one pass over the archive's headers: the tar reader
// seeks past the contents.
func (s *Snapshot) Index() (map[string]Entry, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	index := map[string]Entry{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return index, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the context snapshot: %w", err)
		}
		// The tar reader reads no further than a header: the content
		// starts where the file is now.
		offset, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, fmt.Errorf("reading the context snapshot: %w", err)
		}
		name := path.Clean(hdr.Name)
		index[name] = Entry{Type: hdr.Typeflag, Mode: hdr.Mode, Size: hdr.Size, Link: hdr.Linkname, BuilderOnly: s.builderOnly[name], offset: offset}
	}
}

// OpenEntry returns the content of a regular file found by Index.
// It reads from the start and at any offset.
func (s *Snapshot) OpenEntry(e Entry) (ReadAtCloser, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	return struct {
		*io.SectionReader
		io.Closer
	}{io.NewSectionReader(f, e.offset, e.Size), f}, nil
}
