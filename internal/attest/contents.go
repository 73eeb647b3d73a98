package attest

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Contents is what an SBOM says about one image.
type Contents struct {
	// Platform is os/arch[/variant] of the image's config.
	Platform string
	// Files are the regular files and symlinks the build added (the
	// layers above the base's), by path; a later layer's version of a
	// path replaces an earlier one's, and a whiteout removes it.
	Files []File
	// Packages are the Debian or Alpine packages the final image's
	// package database lists, when it has one.
	Packages []Package
	// BaseUnknown says the base was not known or not readable, so Files
	// lists every file of the image.
	BaseUnknown bool
}

// File is one file the build added.
type File struct {
	Path   string // absolute, as in the image
	SHA256 string // hex, of the content (of the target, for a symlink)
	SHA1   string // hex, as SPDX 2.3 asks of every file
	Mode   int64  // permission and type bits, as in the layer's tar header
	Size   int64
	// LinkTarget is a symlink's target; SHA256 is then the target string's.
	LinkTarget string
	// Go is the module information of a Go binary, when the file is one.
	Go *GoBinary
}

// GoBinary is what debug/buildinfo reads from a Go executable.
type GoBinary struct {
	GoVersion string
	Path      string // the main package's import path
	Main      Module
	Deps      []Module
}

// Module is one Go module a binary was built from.
type Module struct {
	Path    string
	Version string
	Sum     string
}

// Package is one operating system package.
type Package struct {
	// Type is "deb" or "apk", as package URLs name them.
	Type         string
	Name         string
	Version      string
	Architecture string
	// Source is the Debian source package, when it differs from Name.
	Source string
}

// maxInMemoryBinary bounds the executables read into memory for their
// Go build information; larger ones go through a temporary file.
const maxInMemoryBinary = 128 << 20

// AddedFiles lists the files of the layers above the base's first
// baseLayers layers: the ones the build added. What those layers hold of
// the package databases goes into cache on the way, so that Packages
// does not read them again.
func AddedFiles(layers []v1.Layer, baseLayers int, cache *DatabaseCache) ([]File, error) {
	if baseLayers > len(layers) {
		return nil, fmt.Errorf("the image has %d layers, fewer than its base's %d", len(layers), baseLayers)
	}
	files := map[string]File{}
	var unresolved [][2]string
	for _, l := range layers[baseLayers:] {
		dbs, links, err := addLayerFiles(files, l)
		if err != nil {
			return nil, err
		}
		unresolved = append(unresolved, links...)
		if d, err := l.Digest(); err == nil && cache != nil {
			cache.remember(d.String(), dbs)
		}
	}
	if len(unresolved) > 0 && baseLayers > 0 {
		// Hard links to the base's files: rare enough to read the base
		// for.
		lower := map[string]File{}
		for _, l := range layers[:baseLayers] {
			if _, _, err := addLayerFiles(lower, l); err != nil {
				return nil, err
			}
		}
		for _, link := range unresolved {
			if t, ok := lower[link[1]]; ok {
				if _, taken := files[link[0]]; !taken {
					t.Path = link[0]
					files[link[0]] = t
				}
			}
		}
	}
	out := make([]File, 0, len(files))
	for _, f := range files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// addLayerFiles applies one layer to files, as a container runtime
// stacks it: its whiteouts and opaque markers remove what the layers
// below hold (never its own entries, wherever they stand in the tar), an
// entry replaces what was at its path (a directory or symlink replaces a
// file, a file replaces a directory and everything under it), and a hard
// link takes its target's content from this layer or a lower one.
func addLayerFiles(files map[string]File, l v1.Layer) (_ *layerDatabases, _ [][2]string, err error) {
	rc, err := uncompressed(l)
	if err != nil {
		return nil, nil, fmt.Errorf("reading a layer: %w", err)
	}
	defer func() {
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	dbs := &layerDatabases{}
	own := map[string]File{}
	var dirs, nonDirs, whiteouts, opaque []string
	var links [][2]string // path, target
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading a layer: %w", err)
		}
		p := "/" + strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		dir, base := path.Split(p)
		switch {
		case base == ".wh..wh..opq":
			opaque = append(opaque, strings.TrimSuffix(dir, "/"))
			dbs.Removed = append(dbs.Removed, strings.TrimPrefix(dir, "/"))
			continue
		case strings.HasPrefix(base, ".wh."):
			gone := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			whiteouts = append(whiteouts, gone)
			dbs.Removed = append(dbs.Removed, strings.TrimPrefix(gone, "/"))
			continue
		}
		if h.Typeflag == tar.TypeDir {
			dirs = append(dirs, p)
			delete(own, p)
			continue
		}
		nonDirs = append(nonDirs, p)
		switch h.Typeflag {
		case tar.TypeReg:
			var f File
			if rel := strings.TrimPrefix(p, "/"); isDatabase(rel) {
				raw, err := io.ReadAll(tr)
				if err != nil {
					return nil, nil, fmt.Errorf("reading %s from a layer: %w", p, err)
				}
				if dbs.Files == nil {
					dbs.Files = map[string][]byte{}
				}
				dbs.Files[rel] = raw
				f, _ = readFile(bytes.NewReader(raw), h)
			} else if f, err = readFile(tr, h); err != nil {
				return nil, nil, fmt.Errorf("reading %s from a layer: %w", p, err)
			}
			f.Path = p
			own[p] = f
		case tar.TypeSymlink:
			sum, sum1 := sha256.Sum256([]byte(h.Linkname)), sha1.Sum([]byte(h.Linkname))
			own[p] = File{Path: p, SHA256: hex.EncodeToString(sum[:]), SHA1: hex.EncodeToString(sum1[:]), Mode: h.Mode, LinkTarget: h.Linkname}
		case tar.TypeLink:
			links = append(links, [2]string{p, "/" + strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")})
		default:
			delete(own, p) // a device, fifo or socket: no content to list
		}
	}
	// Hard links see the lower layers before this layer's removals.
	lower := make(map[string]File, len(links))
	for _, link := range links {
		if t, ok := files[link[1]]; ok {
			lower[link[1]] = t
		}
	}
	for _, d := range opaque {
		removeUnder(files, d)
	}
	for _, gone := range whiteouts {
		delete(files, gone)
		removeUnder(files, gone)
	}
	for _, d := range dirs {
		delete(files, d)
	}
	for _, p := range nonDirs {
		delete(files, p)
		removeUnder(files, p)
	}
	for p, f := range own {
		files[p] = f
	}
	var unresolved [][2]string
	for _, link := range links {
		t, ok := own[link[1]]
		if !ok {
			t, ok = lower[link[1]]
		}
		if ok {
			t.Path = link[0]
			files[link[0]] = t
		} else {
			unresolved = append(unresolved, link)
		}
	}
	return dbs, unresolved, nil
}

func removeUnder(files map[string]File, dir string) {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for p := range files {
		if strings.HasPrefix(p, prefix) {
			delete(files, p)
		}
	}
}

// readFile hashes a regular file's content and, for an executable,
// reads its Go build information.
func readFile(r io.Reader, h *tar.Header) (File, error) {
	f := File{Mode: h.Mode, Size: h.Size}
	hash, hash1 := sha256.New(), sha1.New()
	var hashes io.Writer = io.MultiWriter(hash, hash1)
	hashed := func() {}
	if h.Size >= parallelHashMin {
		fan := newFanOut(hash, hash1)
		defer fan.Close()
		hashes, hashed = fan, fan.Close
	}
	sum := func() {
		hashed()
		f.SHA256, f.SHA1 = hex.EncodeToString(hash.Sum(nil)), hex.EncodeToString(hash1.Sum(nil))
	}
	if h.Mode&0o111 == 0 || h.Size < 4 {
		if _, err := io.Copy(hashes, r); err != nil {
			return f, err
		}
		sum()
		return f, nil
	}
	var at io.ReaderAt
	if h.Size <= maxInMemoryBinary {
		buf := bytes.NewBuffer(make([]byte, 0, h.Size))
		if _, err := io.Copy(io.MultiWriter(hashes, buf), r); err != nil {
			return f, err
		}
		at = bytes.NewReader(buf.Bytes())
	} else {
		tmp, err := os.CreateTemp("", "onesbuild-sbom-*")
		if err != nil {
			return f, err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if _, err := io.Copy(io.MultiWriter(hashes, tmp), r); err != nil {
			return f, err
		}
		at = tmp
	}
	sum()
	if info, err := buildinfo.Read(at); err == nil {
		f.Go = goBinary(info)
	}
	return f, nil
}

func goBinary(info *buildinfo.BuildInfo) *GoBinary {
	g := &GoBinary{GoVersion: info.GoVersion, Path: info.Path,
		Main: Module{Path: info.Main.Path, Version: info.Main.Version, Sum: info.Main.Sum}}
	for _, d := range info.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		g.Deps = append(g.Deps, Module{Path: m.Path, Version: m.Version, Sum: m.Sum})
	}
	sort.Slice(g.Deps, func(i, j int) bool { return g.Deps[i].Path < g.Deps[j].Path })
	return g
}
