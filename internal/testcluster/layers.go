package testcluster

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fileEntry is one entry of a layer built by the harness.
type fileEntry struct {
	// Path inside the image, absolute.
	Path string
	// Exactly one of HostPath (a file to copy), Content, Symlink and Dir.
	HostPath string
	Content  []byte
	Symlink  string
	Dir      bool
	Mode     int64
	UID, GID int
}

// layer builds an uncompressed-tar layer from entries. Parent directories
// are added automatically; modification times are fixed so identical
// inputs give identical digests.
func layer(entries []fileEntry) (v1.Layer, error) {
	all := withParents(entries)
	for _, e := range all {
		if e.HostPath != "" {
			if _, err := os.Stat(e.HostPath); err != nil {
				return nil, fmt.Errorf("layer file %s: %w", e.Path, err)
			}
		}
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeEntries(pw, all)) }()
		return pr, nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed))
}

func withParents(entries []fileEntry) []fileEntry {
	seen := map[string]bool{}
	var out []fileEntry
	for _, e := range entries {
		seen[path.Clean(e.Path)] = true
	}
	for _, e := range entries {
		for d := path.Dir(path.Clean(e.Path)); d != "/" && d != "."; d = path.Dir(d) {
			if !seen[d] {
				seen[d] = true
				out = append(out, fileEntry{Path: d, Dir: true, Mode: 0o755})
			}
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func writeEntries(w io.Writer, entries []fileEntry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{Name: strings.TrimPrefix(path.Clean(e.Path), "/"), Mode: e.Mode, Uid: e.UID, Gid: e.GID, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		var body io.Reader
		switch {
		case e.Dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case e.Symlink != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.Symlink
		case e.HostPath != "":
			f, err := os.Open(e.HostPath)
			if err != nil {
				return err
			}
			defer f.Close()
			info, err := f.Stat()
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Size, body = tar.TypeReg, info.Size(), f
			if hdr.Mode == 0 {
				hdr.Mode = int64(info.Mode().Perm())
			}
		default:
			hdr.Typeflag, hdr.Size, body = tar.TypeReg, int64(len(e.Content)), strings.NewReader(string(e.Content))
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if body != nil {
			if _, err := io.Copy(tw, body); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// imageConfig is the part of an image config the harness sets.
type imageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	StopSignal string
	Labels     map[string]string
	// Platform is what the image runs on; the zero value means linux on
	// the host's architecture.
	Platform v1.Platform
}

// assemble stacks layers on base (nil for scratch) and applies cfg.
func assemble(base v1.Image, layers []v1.Layer, cfg imageConfig) (v1.Image, error) {
	if base == nil {
		base = empty.Image
	}
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return nil, err
	}
	return configure(img, cfg)
}

// configure applies cfg to img's config.
func configure(img v1.Image, cfg imageConfig) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	p := cfg.Platform
	if p.OS == "" {
		p = v1.Platform{OS: "linux", Architecture: hostArch()}
	}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: time.Unix(0, 0)}
	if cfg.Entrypoint != nil {
		cf.Config.Entrypoint = cfg.Entrypoint
	}
	if cfg.Cmd != nil {
		cf.Config.Cmd = cfg.Cmd
	}
	if cfg.Env != nil {
		cf.Config.Env = cfg.Env
	}
	if cfg.WorkingDir != "" {
		cf.Config.WorkingDir = cfg.WorkingDir
	}
	if cfg.User != "" {
		cf.Config.User = cfg.User
	}
	if cfg.StopSignal != "" {
		cf.Config.StopSignal = cfg.StopSignal
	}
	if cfg.Labels != nil {
		cf.Config.Labels = cfg.Labels
	}
	return mutate.ConfigFile(img, cf)
}

// dockerLoad streams img into the Docker engine under tag.
func dockerLoad(ctx context.Context, c Cache, img v1.Image, tag string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(ref, img, pw)) }()
	load := cmd("docker", "load")
	load.stdin = pr
	err = runLogged(ctx, c.LogPath("docker-load"), load)
	pr.CloseWithError(io.ErrClosedPipe)
	return err
}

// cachedLayer is the gzip-compressed layer file name in the cache entry
// images/<entry>-<hash of recipe>. When the entry is missing or from
// another recipe, build makes it (dir is the entry, file the layer's
// path in it) under the entry's lock, as the progress step step; build
// marks the entry fresh when it is complete.
func (h *Harness) cachedLayer(entry, name, recipe, step string, build func(dir, file string) error) (v1.Layer, error) {
	dir := h.Cache.Path("images", entry+"-"+recipeHash(recipe))
	file := filepath.Join(dir, name)
	unlock, err := lockEntry(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !fresh(dir, recipe, name) {
		if err := h.Progress.Step(step, func() error { return build(dir, file) }); err != nil {
			return nil, err
		}
	}
	return tarball.LayerFromFile(file)
}

// hostArch is the architecture the harness builds for: the machine's.
func hostArch() string { return runtime.GOARCH }

// layerFromTarFile wraps an uncompressed tar file as a layer.
func layerFromTarFile(p string) (v1.Layer, error) {
	return tarball.LayerFromFile(p, tarball.WithCompressionLevel(gzip.BestSpeed))
}
