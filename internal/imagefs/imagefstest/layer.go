// Package imagefstest makes image layers for tests, from tar entries.
package imagefstest

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one entry of a layer: a header and, for a regular file, its
// content (the header's size is set from it).
type Entry struct {
	Header  tar.Header
	Content string
}

// Layer returns a layer holding entries, in order.
func Layer(t testing.TB, entries ...Entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		h.Size = int64(len(e.Content))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.Content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Headers returns entries for hdrs; each regular file holds
// "content of <name>".
func Headers(hdrs ...*tar.Header) []Entry {
	entries := make([]Entry, len(hdrs))
	for i, h := range hdrs {
		entries[i] = Entry{Header: *h}
		if h.Typeflag == tar.TypeReg {
			entries[i].Content = "content of " + h.Name
		}
	}
	return entries
}
