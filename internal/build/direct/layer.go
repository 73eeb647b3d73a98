package direct

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// layerEpoch is the modification time of every entry a direct build
// writes: the context archive already normalises file times to it, and
// Kaniko's --reproducible uses it too.
var layerEpoch = time.Unix(0, 0).UTC()

// writeLayer archives the given changed paths of the tree into a gzip
// layer: entries in path order, fixed times, numeric owners only, so the
// same changes always give the same bytes. A path that no longer exists
// becomes a whiteout. The layer's digests are computed while it is
// written, so it is never read back to learn them. With a cache the
// layer is looked up by its recipe first (the snapshot's hash and the
// entries' headers: the snapshot is not read), then by its uncompressed
// digest (the tar is hashed, which is much cheaper than compressing it;
// a small tar is held in memory meanwhile, and a new layer is compressed
// from it rather than read and hashed again), and kept there; without
// one it is a temporary file that cleanup removes. A cache that keeps
// tars keeps the uncompressed tar beside the layer, written on the way
// to its digest.
func writeLayer(cache *layerCache, t *tree, paths []string, snap *buildcontext.Snapshot, ctx *contextFiles, mediaType types.MediaType) (v1.Layer, func(), error) {
	none := func() {}
	if cache == nil {
		l, err := compressLayer("", mediaType, nil, func(w io.Writer) error { return writeTar(w, t, paths, snap, ctx) })
		if err != nil {
			return nil, none, err
		}
		return l, func() { _ = os.Remove(l.path) }, nil
	}
	// The recipe names the layer without reading the snapshot, so a
	// build of the same snapshot as an earlier one (the apply after its
	// plan, a second plan) finds its layer without writing the tar again.
	recipe, known := recipeKey(t, paths, snap)
	if diffID, ok := cache.recipe(recipe); known && ok && (!cache.keepTars || cache.hasTar(diffID)) {
		if l, ok := cache.lookup(diffID, mediaType); ok {
			return l, none, nil
		}
	}
	diffID, held, err := cache.hashTar(t, paths, snap, ctx)
	if err != nil {
		return nil, none, err
	}
	defer held.release()
	if l, ok := cache.lookup(diffID, mediaType); ok {
		if known {
			cache.saveRecipe(recipe, diffID)
		}
		return l, none, nil
	}
	dir := cache.dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		// A cache that cannot be written is no cache: a temporary file.
		dir = ""
	}
	var l *fileLayer
	if held != nil {
		// The bytes just hashed: their digest is the diff ID.
		l, err = compressLayer(dir, mediaType, &diffID, func(w io.Writer) error {
			_, err := w.Write(held.buf)
			return err
		})
	} else {
		l, err = compressLayer(dir, mediaType, nil, func(w io.Writer) error { return writeTar(w, t, paths, snap, ctx) })
	}
	if err != nil {
		return nil, none, err
	}
	if l.diffID != diffID {
		_ = os.Remove(l.path)
		return nil, none, fmt.Errorf("the context snapshot changed while its layer was written")
	}
	if dir == "" || cache.store(l) != nil {
		// A layer that cannot be cached is still a layer.
		return l, func() { _ = os.Remove(l.path) }, nil
	}
	if known {
		cache.saveRecipe(recipe, l.diffID)
	}
	return l, none, nil
}

// compressLayer writes the gzip layer of the tar that write writes into
// a temporary file under dir. With diffID, the tar's digest is known
// already and not computed again.
func compressLayer(dir string, mediaType types.MediaType, diffID *v1.Hash, write func(io.Writer) error) (*fileLayer, error) {
	f, err := os.CreateTemp(dir, "onesbuild-layer-*.tar.gz")
	if err != nil {
		return nil, err
	}
	l := &fileLayer{path: f.Name(), mediaType: mediaType}
	err = func() error {
		defer f.Close()
		compressed := sha256.New()
		counter := &countingWriter{w: io.MultiWriter(f, compressed)}
		// The compressor writes a few hundred bytes at a time: unbuffered,
		// that was a system call each and a fifth of a build's CPU.
		buffered := bufio.NewWriterSize(counter, 256<<10)
		gz, err := gzip.NewWriterLevel(buffered, gzip.BestSpeed)
		if err != nil {
			return err
		}
		uncompressed := sha256.New()
		sink := io.Writer(gz)
		if diffID == nil {
			sink = io.MultiWriter(gz, uncompressed)
		}
		if err := write(sink); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
		if err := buffered.Flush(); err != nil {
			return err
		}
		l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(compressed.Sum(nil))}
		if diffID != nil {
			l.diffID = *diffID
		} else {
			l.diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(uncompressed.Sum(nil))}
		}
		l.size = counter.n
		return nil
	}()
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, err
	}
	return l, nil
}

// writeTar writes the layer's uncompressed tar.
func writeTar(w io.Writer, t *tree, paths []string, snap *buildcontext.Snapshot, ctx *contextFiles) error {
	tw := tar.NewWriter(w)
	for _, p := range paths {
		if err := writeEntry(tw, t, p, snap, ctx); err != nil {
			return fmt.Errorf("writing %s into the layer: %w", p, err)
		}
	}
	return tw.Close()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fileLayer is a gzip layer on disk whose digests are known.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
	mediaType      types.MediaType
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{gz, f}, nil
}

func writeEntry(tw *tar.Writer, t *tree, p string, snap *buildcontext.Snapshot, ctx *contextFiles) error {
	name := strings.TrimPrefix(p, "/")
	n := t.nodes[p]
	if n == nil {
		return tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: path.Join(path.Dir(name), ".wh."+path.Base(name)),
			Mode: 0o644, ModTime: layerEpoch, Format: tar.FormatPAX,
		})
	}
	hdr := &tar.Header{
		Typeflag: n.Type, Name: name, Mode: n.Mode, Uid: n.UID, Gid: n.GID,
		Linkname: n.Link, ModTime: layerEpoch, Format: tar.FormatPAX,
	}
	if n.isDir() {
		hdr.Name += "/"
	}
	if n.Type != tar.TypeReg {
		return tw.WriteHeader(hdr)
	}
	hdr.Size = n.size
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	rc, err := snap.OpenEntry(ctx.entries[n.src])
	if err != nil {
		return err
	}
	defer rc.Close()
	written, err := io.Copy(tw, rc)
	if err != nil {
		return err
	}
	if written != n.size {
		return fmt.Errorf("%s changed size in the context snapshot", n.src)
	}
	return nil
}
