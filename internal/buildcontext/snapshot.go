package buildcontext

import (
	"archive/tar"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"os"
	"path"
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
	// Dockerfile is the Dockerfile's path inside the archive.
	Dockerfile string
	path       string
}

// Snapshot archives the source into a new file in dir (os.TempDir when
// empty). Remove the snapshot when done.
func (s Source) Snapshot(dir string) (*Snapshot, error) {
	f, err := os.CreateTemp(dir, "onesbuild-context-*.tar")
	if err != nil {
		return nil, fmt.Errorf("creating the context snapshot: %w", err)
	}
	sum, err := s.WriteTar(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, err
	}
	return &Snapshot{Summary: sum, Dockerfile: path.Clean(s.Dockerfile()), path: f.Name()}, nil
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
	// offset is where a regular file's content starts in the archive.
	offset int64
}

// countingReader counts the bytes read through it, to locate file
// contents in the uncompressed archive.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Index lists every entry of the snapshot by its clean relative path
// (directories without their trailing slash), with where each file's
// content lies, in one pass over the archive.
func (s *Snapshot) Index() (map[string]Entry, error) {
	f, err := s.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	index := map[string]Entry{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return index, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the context snapshot: %w", err)
		}
		index[path.Clean(hdr.Name)] = Entry{Type: hdr.Typeflag, Mode: hdr.Mode, Size: hdr.Size, Link: hdr.Linkname, offset: cr.n}
	}
}

// OpenEntry returns the content of a regular file found by Index.
func (s *Snapshot) OpenEntry(e Entry) (io.ReadCloser, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, e.offset, e.Size), f}, nil
}
