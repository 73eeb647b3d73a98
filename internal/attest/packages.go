package attest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/cachefile"
)

// The package databases an SBOM reads, as paths inside an image.
const (
	dpkgStatus   = "var/lib/dpkg/status"
	dpkgStatusD  = "var/lib/dpkg/status.d" // distroless: one file per package
	apkInstalled = "lib/apk/db/installed"
)

// layerDatabases is what one layer holds of the package databases: their
// contents where it writes them, and whether it removes them (a whiteout
// of the file or an opaque directory above it).
type layerDatabases struct {
	Files   map[string][]byte `json:"files,omitempty"`
	Removed []string          `json:"removed,omitempty"`
}

// DatabaseCache remembers, per layer digest, what a layer holds of the
// package databases, so that a base's layers are read once per machine
// and not on every build on it. The zero value keeps them in memory only.
type DatabaseCache struct {
	// Dir keeps them across runs; empty keeps them in memory.
	Dir string

	mu     sync.Mutex
	layers map[string]*layerDatabases
}

// cacheAge is how long an unused entry stays on disk.
const cacheAge = 30 * 24 * time.Hour

func (c *DatabaseCache) get(l v1.Layer) (*layerDatabases, error) {
	d, err := l.Digest()
	if err != nil {
		return nil, err
	}
	key := d.String()
	if c != nil {
		c.mu.Lock()
		got, ok := c.layers[key]
		c.mu.Unlock()
		if ok {
			return got, nil
		}
		if got := c.load(key); got != nil {
			c.remember(key, got)
			return got, nil
		}
	}
	got, err := readDatabases(l)
	if err != nil {
		return nil, err
	}
	if c != nil {
		c.remember(key, got)
		if c.Dir != "" {
			// A cache that cannot be written only costs a re-read.
			_ = cachefile.WriteJSON(c.file(key), got)
		}
	}
	return got, nil
}

func (c *DatabaseCache) remember(key string, l *layerDatabases) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.layers == nil {
		c.layers = map[string]*layerDatabases{}
	}
	c.layers[key] = l
}

func (c *DatabaseCache) file(key string) string {
	return filepath.Join(c.Dir, strings.ReplaceAll(key, ":", "-")+".json")
}

func (c *DatabaseCache) load(key string) *layerDatabases {
	if c.Dir == "" {
		return nil
	}
	name := c.file(key)
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	var l layerDatabases
	if json.Unmarshal(raw, &l) != nil {
		return nil
	}
	now := time.Now()
	_ = os.Chtimes(name, now, now)
	return &l
}

// Prune removes entries nobody used for a month.
func (c *DatabaseCache) Prune() {
	if c != nil && c.Dir != "" {
		cachefile.PruneOlder(c.Dir, time.Now().Add(-cacheAge))
	}
}

func isDatabase(p string) bool {
	return p == dpkgStatus || p == apkInstalled || strings.HasPrefix(p, dpkgStatusD+"/")
}

func readDatabases(l v1.Layer) (_ *layerDatabases, err error) {
	rc, err := uncompressed(l)
	if err != nil {
		return nil, fmt.Errorf("reading a layer: %w", err)
	}
	defer func() {
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	out := &layerDatabases{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading a layer: %w", err)
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		dir, base := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		switch {
		case base == ".wh..wh..opq":
			out.Removed = append(out.Removed, dir+"/")
		case strings.HasPrefix(base, ".wh."):
			out.Removed = append(out.Removed, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
		case h.Typeflag == tar.TypeReg && isDatabase(p):
			raw, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("reading %s from a layer: %w", p, err)
			}
			if out.Files == nil {
				out.Files = map[string][]byte{}
			}
			out.Files[p] = raw
		}
	}
}

// removes says whether a layer's removals hide path p of the layers
// below it.
func (l *layerDatabases) removes(p string) bool {
	for _, r := range l.Removed {
		if r == p || (strings.HasSuffix(r, "/") && strings.HasPrefix(p, r)) || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// Packages lists the packages of the final image's package databases:
// each database path as the topmost layer that writes or removes it
// leaves it. The layers are given bottom first, as in a manifest.
func Packages(layers []v1.Layer, cache *DatabaseCache) ([]Package, error) {
	final := map[string][]byte{}
	hidden := func(p string, above []*layerDatabases) bool {
		for _, l := range above {
			if l.removes(p) {
				return true
			}
		}
		return false
	}
	var above []*layerDatabases
	for i := len(layers) - 1; i >= 0; i-- {
		l, err := cache.get(layers[i])
		if err != nil {
			return nil, err
		}
		for p, raw := range l.Files {
			if _, seen := final[p]; !seen && !hidden(p, above) {
				final[p] = raw
			}
		}
		above = append(above, l)
	}
	var pkgs []Package
	names := make([]string, 0, len(final))
	for p := range final {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if p == apkInstalled {
			pkgs = append(pkgs, parseAPK(final[p])...)
		} else {
			pkgs = append(pkgs, parseDpkg(final[p])...)
		}
	}
	sort.Slice(pkgs, func(i, j int) bool {
		if pkgs[i].Name != pkgs[j].Name {
			return pkgs[i].Name < pkgs[j].Name
		}
		return pkgs[i].Architecture < pkgs[j].Architecture
	})
	return pkgs, nil
}

// stanzas splits a database into its paragraphs: runs of lines
// separated by lines that are empty once trimmed, whatever the line
// endings.
func stanzas(raw []byte) [][]byte {
	var out [][]byte
	var cur bytes.Buffer
	for _, line := range bytes.Split(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			if cur.Len() > 0 {
				out = append(out, append([]byte(nil), cur.Bytes()...))
				cur.Reset()
			}
			continue
		}
		cur.Write(line)
		cur.WriteByte('\n')
	}
	if cur.Len() > 0 {
		out = append(out, cur.Bytes())
	}
	return out
}

// parseDpkg reads a dpkg status file (or one of status.d's): stanzas of
// "Field: value" lines, of which only installed packages count.
func parseDpkg(raw []byte) []Package {
	var out []Package
	for _, stanza := range stanzas(raw) {
		fields := map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(stanza))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || line[0] == ' ' || line[0] == '\t' {
				continue // continuation lines of long fields
			}
			if k, v, ok := strings.Cut(line, ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		if fields["Package"] == "" {
			continue
		}
		// status.d files (distroless) have no Status field.
		if st, ok := fields["Status"]; ok && !strings.HasSuffix(st, " installed") {
			continue
		}
		p := Package{Type: "deb", Name: fields["Package"], Version: fields["Version"], Architecture: fields["Architecture"]}
		if src, _, _ := strings.Cut(fields["Source"], " "); src != "" && src != p.Name {
			p.Source = src
		}
		out = append(out, p)
	}
	return out
}

// parseAPK reads Alpine's installed database: stanzas of "X:value" lines.
func parseAPK(raw []byte) []Package {
	var out []Package
	for _, stanza := range stanzas(raw) {
		p := Package{Type: "apk"}
		for _, line := range strings.Split(string(stanza), "\n") {
			if len(line) < 2 || line[1] != ':' {
				continue
			}
			switch v := line[2:]; line[0] {
			case 'P':
				p.Name = v
			case 'V':
				p.Version = v
			case 'A':
				p.Architecture = v
			case 'o':
				p.Source = v
			}
		}
		if p.Name != "" {
			if p.Source == p.Name {
				p.Source = ""
			}
			out = append(out, p)
		}
	}
	return out
}
