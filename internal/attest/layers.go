package attest

import (
	"bufio"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// uncompressed opens a layer's tar. Gzip layers, nearly all of them, are
// inflated here with klauspost/compress, half again as fast as the
// standard library's inflater go-containerregistry uses: inflating the
// added layer was most of the time an SBOM took. As with
// go-containerregistry's own reader, the digest is checked only by a
// reader that reaches the end of the blob, which a tar walk does not.
func uncompressed(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil || !isGzipLayer(mt) {
		return l.Uncompressed()
	}
	compressed, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	buffered := bufio.NewReader(compressed)
	if magic, _ := buffered.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		// Labelled gzip and not (some registries and tools do that):
		// go-containerregistry knows what else it may be.
		_ = compressed.Close()
		return l.Uncompressed()
	}
	zr, err := gzip.NewReader(buffered)
	if err != nil {
		_ = compressed.Close()
		return nil, fmt.Errorf("inflating the layer: %w", err)
	}
	return &inflating{Reader: zr, compressed: compressed}, nil
}

func isGzipLayer(mt types.MediaType) bool {
	switch mt {
	case types.DockerLayer, types.DockerForeignLayer, types.OCILayer, types.OCIRestrictedLayer:
		return true
	}
	return false
}

type inflating struct {
	*gzip.Reader
	compressed io.ReadCloser
}

func (r *inflating) Close() error {
	err := r.Reader.Close()
	if cerr := r.compressed.Close(); err == nil {
		err = cerr
	}
	return err
}
