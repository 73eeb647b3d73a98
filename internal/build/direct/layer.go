package direct

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// layerEpoch is the modification time of every entry a direct build
// writes: the context archive already normalises file times to it, and
// Kaniko's --reproducible uses it too.
var layerEpoch = time.Unix(0, 0).UTC()

// writeLayer archives the given changed paths of the tree into a gzip
// layer in a temporary file under dir: entries in path order, fixed
// times, numeric owners only, so the same changes always give the same
// bytes. A path that no longer exists becomes a whiteout.
func writeLayer(dir string, t *tree, paths []string, snap *buildcontext.Snapshot, ctx *contextFiles, mediaType types.MediaType) (v1.Layer, func(), error) {
	f, err := os.CreateTemp(dir, "onesbuild-layer-*.tar.gz")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.Remove(f.Name()) }
	err = func() error {
		defer f.Close()
		gz, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
		if err != nil {
			return err
		}
		tw := tar.NewWriter(gz)
		for _, p := range paths {
			if err := writeEntry(tw, t, p, snap, ctx); err != nil {
				return fmt.Errorf("writing %s into the layer: %w", p, err)
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return gz.Close()
	}()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	name := f.Name()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return os.Open(name) }, tarball.WithMediaType(mediaType))
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return layer, cleanup, nil
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
