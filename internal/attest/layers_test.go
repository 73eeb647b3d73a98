package attest

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
)

func TestUncompressedReadsWhatGoContainerregistryReads(t *testing.T) {
	entry := imagefstest.Entry{Header: tar.Header{Name: "app/server", Typeflag: tar.TypeReg, Mode: 0o755}, Content: "binary content\n"}
	gz := imagefstest.Layer(t, entry)
	want := readAll(t, gz.Uncompressed)
	if got := readAll(t, func() (io.ReadCloser, error) { return uncompressed(gz) }); !bytes.Equal(got, want) {
		t.Fatal("the gzip layer inflates to other bytes than go-containerregistry's")
	}
	// A tar labelled gzip (some tools push those) is read as it is.
	lying := static.NewLayer(want, types.OCILayer)
	if got := readAll(t, func() (io.ReadCloser, error) { return uncompressed(lying) }); !bytes.Equal(got, want) {
		t.Fatal("an uncompressed tar labelled gzip is not read as a tar")
	}
	// And files are read from it.
	files, err := AddedFiles([]v1.Layer{lying}, 0, nil)
	if err != nil || len(files) != 1 || files[0].Path != "/app/server" {
		t.Fatalf("files %+v, %v", files, err)
	}
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
