package direct

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/cachefile"
)

// layerCache keeps the gzip layers direct builds write, content-addressed
// by their uncompressed digest: a plan that predicts a digest writes the
// layers once, and the apply after it (or the next build of the same
// files) reuses them without compressing again. Entries unused for
// layerCacheMaxAge are removed, once per process.
type layerCache struct{ dir string }

// layerCacheMaxAge is how long a layer nobody used stays in the cache.
const layerCacheMaxAge = 7 * 24 * time.Hour

// layerMeta is what a cached layer's digests are; the file alone would
// have to be read to learn them.
type layerMeta struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

var pruneLayerCacheOnce sync.Map // dir → *sync.Once

// layerCache is the executor's cache, or nil when it has none.
func (e *Executor) layerCache() *layerCache {
	if e.LayerCacheDir == "" {
		return nil
	}
	once, _ := pruneLayerCacheOnce.LoadOrStore(e.LayerCacheDir, &sync.Once{})
	once.(*sync.Once).Do(func() { cachefile.PruneOlder(e.LayerCacheDir, time.Now().Add(-layerCacheMaxAge)) })
	return &layerCache{dir: e.LayerCacheDir}
}

func (c *layerCache) paths(diffID v1.Hash) (layer, meta string) {
	base := filepath.Join(c.dir, diffID.Hex)
	return base + ".tar.gz", base + ".json"
}

// lookup is the cached layer of diffID, when the cache has all of it.
func (c *layerCache) lookup(diffID v1.Hash, mediaType types.MediaType) (*fileLayer, bool) {
	layerPath, metaPath := c.paths(diffID)
	raw, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, false
	}
	var m layerMeta
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	digest, err := v1.NewHash(m.Digest)
	if err != nil {
		return nil, false
	}
	if fi, err := os.Stat(layerPath); err != nil || fi.Size() != m.Size {
		return nil, false
	}
	// The file is hashed once more (much cheaper than compressing it):
	// a layer damaged on disk is written again, never pushed.
	if got, err := fileDigest(layerPath); err != nil || got != digest {
		_ = os.Remove(metaPath)
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(layerPath, now, now)
	_ = os.Chtimes(metaPath, now, now)
	return &fileLayer{path: layerPath, digest: digest, diffID: diffID, size: m.Size, mediaType: mediaType}, true
}

// store moves a layer written under the cache's directory to its place:
// the layer first, then its digests, so that a reader who finds the
// digests finds the whole layer (renames are atomic, and concurrent
// builds of the same layer write the same bytes).
func (c *layerCache) store(l *fileLayer) error {
	layerPath, metaPath := c.paths(l.diffID)
	if err := os.Rename(l.path, layerPath); err != nil {
		return err
	}
	l.path = layerPath
	return cachefile.WriteJSON(metaPath, layerMeta{Digest: l.digest.String(), Size: l.size})
}

func fileDigest(path string) (v1.Hash, error) {
	f, err := os.Open(path)
	if err != nil {
		return v1.Hash{}, err
	}
	defer f.Close()
	h, _, err := v1.SHA256(f)
	return h, err
}

// OpenCachedLayer opens the compressed blob of a layer the builds with
// LayerCacheDir dir wrote, when the cache holds it under diffID with the
// given digest, so that what reads a just-pushed image's layers (its
// SBOM) reads them here rather than from the registry. It is not
// hashed here: the reader checks the digest as it reads.
func OpenCachedLayer(dir string, diffID, digest v1.Hash) (io.ReadCloser, bool) {
	if dir == "" {
		return nil, false
	}
	c := &layerCache{dir: dir}
	layerPath, metaPath := c.paths(diffID)
	raw, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, false
	}
	var m layerMeta
	if json.Unmarshal(raw, &m) != nil || m.Digest != digest.String() {
		return nil, false
	}
	f, err := os.Open(layerPath)
	if err != nil {
		return nil, false
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != m.Size {
		_ = f.Close()
		return nil, false
	}
	return f, true
}
