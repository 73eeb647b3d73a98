package attest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// uncompressed opens a layer's tar. Gzip layers, nearly all of them, are
// inflated here with klauspost/compress, half again as fast as the
// standard library's inflater go-containerregistry uses: inflating the
// added layer was most of the time an SBOM took. Closing the reader
// reads the rest of the blob, so that its digest is checked (by
// go-containerregistry's reader for a blob from the registry, by
// verifying for one read on this machine) even when a tar walk stops
// before the end: an SBOM is never written from a damaged layer.
func uncompressed(l v1.Layer) (io.ReadCloser, error) {
	if local, ok := l.(localLayer); ok {
		if tar, ok := local.tar(); ok {
			return readToEnd(tar, nil)
		}
	}
	mt, err := l.MediaType()
	if err != nil || !isGzipLayer(mt) {
		return readToEnd(l.Uncompressed())
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
		return readToEnd(l.Uncompressed())
	}
	zr, err := gzip.NewReader(buffered)
	if err != nil {
		_ = compressed.Close()
		return nil, fmt.Errorf("inflating the layer: %w", err)
	}
	return &inflating{Reader: zr, rest: buffered, compressed: compressed}, nil
}

// readToEnd makes closing rc read the rest of it first, so that
// go-containerregistry's reader reaches the end of the blob, where it
// checks the digest.
func readToEnd(rc io.ReadCloser, err error) (io.ReadCloser, error) {
	if err != nil {
		return nil, err
	}
	return drainingCloser{rc}, nil
}

type drainingCloser struct{ io.ReadCloser }

func (d drainingCloser) Close() error {
	_, err := io.Copy(io.Discard, d.ReadCloser)
	if cerr := d.ReadCloser.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("reading the layer to its end: %w", err)
	}
	return nil
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
	rest       io.Reader
	compressed io.ReadCloser
}

func (r *inflating) Close() error {
	_, err := io.Copy(io.Discard, r.rest)
	if cerr := r.Reader.Close(); err == nil {
		err = cerr
	}
	if cerr := r.compressed.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("reading the layer to its end: %w", err)
	}
	return nil
}

// LocalLayers opens, on this machine, a layer the caller wrote (diffID
// and digest as the image names them), so that reading a just-pushed
// image does not download it again: its uncompressed tar when tar is
// set (nothing to inflate), its compressed blob otherwise; ok is false
// for what it does not have. What it opens is checked as it is read, the
// tar against diffID, the blob against digest.
type LocalLayers func(diffID, digest v1.Hash, tar bool) (r io.ReadCloser, ok bool)

// localFirst are the layers, each read from local when local has it
// (its tar first, when tars is set) and from the registry otherwise.
func localFirst(layers []v1.Layer, local LocalLayers, tars bool) []v1.Layer {
	if local == nil {
		return layers
	}
	out := make([]v1.Layer, len(layers))
	for i, l := range layers {
		out[i] = localLayer{Layer: l, local: local, tars: tars}
	}
	return out
}

// localLayer is a registry's layer whose blob or tar may be on this
// machine.
type localLayer struct {
	v1.Layer
	local LocalLayers
	tars  bool
}

// tar opens the layer's tar on this machine, when it is there and asked
// for.
func (l localLayer) tar() (io.ReadCloser, bool) {
	if !l.tars {
		return nil, false
	}
	diffID, err := l.DiffID()
	if err != nil {
		return nil, false
	}
	digest, err := l.Digest()
	if err != nil {
		return nil, false
	}
	r, ok := l.local(diffID, digest, true)
	if !ok {
		return nil, false
	}
	return &verifying{r: r, hash: sha256.New(), want: diffID, size: -1}, true
}

func (l localLayer) Compressed() (io.ReadCloser, error) {
	digest, err := l.Digest()
	if err != nil {
		return nil, err
	}
	diffID, err := l.DiffID()
	if err != nil {
		return l.Layer.Compressed()
	}
	size, err := l.Size()
	if err != nil {
		return nil, err
	}
	blob, ok := l.local(diffID, digest, false)
	if !ok {
		return l.Layer.Compressed()
	}
	return &verifying{r: blob, hash: sha256.New(), want: digest, size: size}, nil
}

// verifying reads a blob and fails at its end when it is not the
// digest and size (unless negative) it should be.
type verifying struct {
	r    io.ReadCloser
	hash hash.Hash
	want v1.Hash
	size int64
	n    int64
	// fan hashes on a goroutine of its own once the blob is known to
	// be large, so that the SBOM's own hashes of its files need not wait.
	fan    *fanOut
	closed bool
}

func (v *verifying) Read(p []byte) (int, error) {
	if v.closed {
		return 0, errReadAfterClose
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	if v.fan == nil && v.n >= parallelHashMin {
		v.fan = newFanOut(v.hash)
	}
	if v.fan != nil {
		v.fan.Write(p[:n])
	} else {
		v.hash.Write(p[:n])
	}
	if errors.Is(err, io.EOF) {
		if v.fan != nil {
			v.fan.Close()
		}
		if got := hex.EncodeToString(v.hash.Sum(nil)); (v.size >= 0 && v.n != v.size) || got != v.want.Hex {
			return n, fmt.Errorf("the layer %s read on this machine is %d bytes of sha256:%s", v.want, v.n, got)
		}
	}
	return n, err
}

// errReadAfterClose is a read of a layer closed before its end: what
// follows could no longer be checked.
var errReadAfterClose = errors.New("read of a layer after it was closed")

func (v *verifying) Close() error {
	v.closed = true
	if v.fan != nil {
		v.fan.Close()
	}
	return v.r.Close()
}
