// Package imagefs reads an image's file system and configuration as a
// container runtime would see them, so that two images can be compared
// by meaning rather than by bytes: the differential tests build the same
// inputs with Kaniko and with the direct executor and diff the results.
package imagefs

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"reflect"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// File is what the comparison looks at for one path.
type File struct {
	Type   string // "file", "dir", "symlink", "other"
	Mode   int64  // permission bits, setuid, setgid and sticky
	UID    int
	GID    int
	SHA256 string // content of regular files
	Link   string // symlink target
}

func (f File) String() string {
	s := fmt.Sprintf("%s %04o %d:%d", f.Type, f.Mode, f.UID, f.GID)
	if f.SHA256 != "" {
		s += " " + f.SHA256[:12]
	}
	if f.Link != "" {
		s += " -> " + f.Link
	}
	return s
}

// Files applies the image's layers in order, with whiteouts, and returns
// every path of the result, with the SHA-256 of every regular file.
func Files(img v1.Image) (map[string]File, error) { return flatten(img, true) }

// Tree is Files without the content hashes: the metadata of every path,
// for callers that never look at content.
func Tree(img v1.Image) (map[string]File, error) { return flatten(img, false) }

func flatten(img v1.Image, hashContent bool) (map[string]File, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	files := map[string]File{"/": {Type: "dir", Mode: 0o755}}
	for i, l := range layers {
		if err := apply(files, l, hashContent); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	return files, nil
}

func apply(files map[string]File, l v1.Layer, hashContent bool) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := path.Clean("/" + hdr.Name)
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		switch {
		case base == ".wh..wh..opq":
			removeUnder(files, dir)
			continue
		case strings.HasPrefix(base, ".wh."):
			target := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			delete(files, target)
			removeUnder(files, target)
			continue
		}
		// A runtime creates missing parents of an entry.
		for d := path.Dir(p); ; d = path.Dir(d) {
			if _, ok := files[d]; !ok {
				files[d] = File{Type: "dir", Mode: 0o755}
			}
			if d == "/" {
				break
			}
		}
		f := File{Mode: hdr.Mode & 0o7777, UID: hdr.Uid, GID: hdr.Gid}
		switch hdr.Typeflag {
		case tar.TypeDir:
			f.Type = "dir"
		case tar.TypeSymlink:
			f.Type, f.Link = "symlink", hdr.Linkname
		case tar.TypeReg, tar.TypeRegA:
			f.Type = "file"
			if hashContent {
				h := sha256.New()
				if _, err := io.Copy(h, tr); err != nil {
					return err
				}
				f.SHA256 = hex.EncodeToString(h.Sum(nil))
			}
		case tar.TypeLink:
			f = files[path.Clean("/"+hdr.Linkname)]
		default:
			f.Type = "other"
		}
		if old, ok := files[p]; ok && old.Type == "dir" && f.Type != "dir" {
			removeUnder(files, p)
		}
		files[p] = f
	}
}

func removeUnder(files map[string]File, dir string) {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for p := range files {
		if strings.HasPrefix(p, prefix) {
			delete(files, p)
		}
	}
}

// Difference is one path or config field where two images differ.
type Difference struct {
	What string
	A, B string
}

func (d Difference) String() string { return fmt.Sprintf("%s: %s | %s", d.What, d.A, d.B) }

// DiffFiles lists the paths whose File differs, sorted; a path missing
// on one side shows as "(absent)".
func DiffFiles(a, b map[string]File) []Difference {
	paths := map[string]bool{}
	for p := range a {
		paths[p] = true
	}
	for p := range b {
		paths[p] = true
	}
	var out []Difference
	for p := range paths {
		fa, inA := a[p]
		fb, inB := b[p]
		if inA && inB && fa == fb {
			continue
		}
		d := Difference{What: p, A: "(absent)", B: "(absent)"}
		if inA {
			d.A = fa.String()
		}
		if inB {
			d.B = fb.String()
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].What < out[j].What })
	return out
}

// DiffConfig compares the configuration fields that carry meaning for a
// container: Env, Entrypoint, Cmd, WorkingDir, User, ExposedPorts,
// Volumes, Labels, StopSignal and Shell. Labels named in ignoreLabels
// (such as a build time) are left out.
func DiffConfig(a, b v1.Config, ignoreLabels ...string) []Difference {
	strip := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for _, k := range ignoreLabels {
			delete(out, k)
		}
		return out
	}
	fields := []struct {
		name string
		a, b any
	}{
		{"Env", a.Env, b.Env},
		{"Entrypoint", a.Entrypoint, b.Entrypoint},
		{"Cmd", a.Cmd, b.Cmd},
		{"WorkingDir", a.WorkingDir, b.WorkingDir},
		{"User", a.User, b.User},
		{"ExposedPorts", keys(a.ExposedPorts), keys(b.ExposedPorts)},
		{"Volumes", keys(a.Volumes), keys(b.Volumes)},
		{"Labels", strip(a.Labels), strip(b.Labels)},
		{"StopSignal", a.StopSignal, b.StopSignal},
		{"Shell", a.Shell, b.Shell},
	}
	var out []Difference
	for _, f := range fields {
		if !equivalent(f.a, f.b) {
			out = append(out, Difference{What: "config." + f.name, A: fmt.Sprint(f.a), B: fmt.Sprint(f.b)})
		}
	}
	return out
}

func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// equivalent treats nil and empty slices and maps as the same.
func equivalent(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if (va.Kind() == reflect.Slice || va.Kind() == reflect.Map) && va.Len() == 0 && vb.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
