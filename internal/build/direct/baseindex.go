package direct

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs"
)

// baseIndex returns the file metadata of an image: every path with its
// type, mode, owner and link target, after applying the layers in order
// with their whiteouts. The content of files is never kept. Indexes are
// cached under cacheDir by the image's digest, which fixes every layer,
// so each base is read once per machine.
//
// Within a process, an index is kept in memory and read once however
// many builds ask for it at the same time (ten resources of one apply on
// a new base read it once, not ten times).
func baseIndex(img v1.Image, cacheDir string) (map[string]*node, bool, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, false, err
	}
	entry := indexEntryFor(digest.String())
	entry.mu.Lock()
	defer entry.mu.Unlock()
	if entry.nodes != nil {
		return entry.nodes, true, nil
	}
	nodes, cached, err := loadBaseIndex(img, digest, cacheDir)
	if err == nil {
		entry.nodes = nodes
	}
	return nodes, cached, err
}

// indexEntry is one base's index in memory; its mutex makes concurrent
// builds wait for the one that reads it. The nodes are never modified:
// newTree copies them.
type indexEntry struct {
	mu    sync.Mutex
	nodes map[string]*node
}

var (
	indexesMu sync.Mutex
	indexes   = map[string]*indexEntry{}
)

func indexEntryFor(digest string) *indexEntry {
	indexesMu.Lock()
	defer indexesMu.Unlock()
	e, ok := indexes[digest]
	if !ok {
		e = &indexEntry{}
		indexes[digest] = e
	}
	return e
}

// indexFormat is the version of the cached index's layout; a change to
// node or to what an index holds must raise it, so that a cache written
// by another version of the provider is read again from the image
// instead of being misread.
const indexFormat = 2

// cachedIndex is the cache file's content.
type cachedIndex struct {
	Format int              `json:"format"`
	Nodes  map[string]*node `json:"nodes"`
}

// indexFile is where the index of digest is cached.
func indexFile(cacheDir string, digest v1.Hash) string {
	return filepath.Join(cacheDir, fmt.Sprintf("index-v%d-%s-%s.json.gz", indexFormat, digest.Algorithm, digest.Hex))
}

func loadBaseIndex(img v1.Image, digest v1.Hash, cacheDir string) (map[string]*node, bool, error) {
	file := ""
	if cacheDir != "" {
		file = indexFile(cacheDir, digest)
		if nodes, err := readIndex(file); err == nil {
			return nodes, true, nil
		}
	}
	files, err := imagefs.Tree(img)
	if err != nil {
		return nil, false, fmt.Errorf("reading the base image's layers: %w", err)
	}
	nodes := make(map[string]*node, len(files))
	for p, f := range files {
		n := &node{Mode: f.Mode, UID: f.UID, GID: f.GID, Link: f.Link}
		switch f.Type {
		case "dir":
			n.Type = tar.TypeDir
		case "symlink":
			n.Type = tar.TypeSymlink
		default:
			// Devices and the like are files as far as COPY is concerned.
			n.Type = tar.TypeReg
		}
		nodes[p] = n
	}
	if file != "" {
		// A cache that cannot be written only costs a re-read next time.
		_ = writeIndex(file, nodes)
	}
	return nodes, false, nil
}

func readIndex(file string) (map[string]*node, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var cached cachedIndex
	if err := json.NewDecoder(gz).Decode(&cached); err != nil {
		return nil, err
	}
	if cached.Format != indexFormat {
		return nil, fmt.Errorf("index format %d, want %d", cached.Format, indexFormat)
	}
	if cached.Nodes["/"] == nil {
		return nil, errors.New("index without a root")
	}
	return cached.Nodes, nil
}

func writeIndex(file string, nodes map[string]*node) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".index-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	gz := gzip.NewWriter(tmp)
	if err := json.NewEncoder(gz).Encode(cachedIndex{Format: indexFormat, Nodes: nodes}); err != nil {
		tmp.Close()
		return err
	}
	if err := gz.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
