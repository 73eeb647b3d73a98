package direct

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/cachefile"
)

// layerCache keeps the gzip layers direct builds write, content-addressed
// by their uncompressed digest: a plan that predicts a digest writes the
// layers once, and the apply after it (or the next build of the same
// files) reuses them without compressing again. Entries unused for
// layerCacheMaxAge are removed, once per process.
type layerCache struct {
	dir string
	// keepTars also keeps each layer's uncompressed tar (under tars/,
	// for layerTarMaxAge), for a build whose layers are read again right
	// after it: its SBOM then reads the tar and inflates nothing.
	keepTars bool
}

// layerCacheMaxAge is how long a layer nobody used stays in the cache.
const layerCacheMaxAge = 7 * 24 * time.Hour

// layerTarMaxAge is how long a kept tar stays: it serves the SBOM of the
// apply right after a build or a plan, and is as large as the files.
const layerTarMaxAge = 24 * time.Hour

// layerMeta is what a cached layer's digests are; the file alone would
// have to be read to learn them.
type layerMeta struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

var pruneLayerCacheOnce sync.Map // dir → *sync.Once

// layerCache is the executor's cache, or nil when it has none.
func (e *Executor) layerCache(keepTars bool) *layerCache {
	if e.LayerCacheDir == "" {
		return nil
	}
	once, _ := pruneLayerCacheOnce.LoadOrStore(e.LayerCacheDir, &sync.Once{})
	once.(*sync.Once).Do(func() {
		now := time.Now()
		cachefile.PruneOlder(e.LayerCacheDir, now.Add(-layerCacheMaxAge))
		cachefile.PruneOlder(tarDir(e.LayerCacheDir), now.Add(-layerTarMaxAge))
		cachefile.PruneOlder(recipeDir(e.LayerCacheDir), now.Add(-layerCacheMaxAge))
	})
	return &layerCache{dir: e.LayerCacheDir, keepTars: keepTars}
}

func (c *layerCache) paths(diffID v1.Hash) (layer, meta string) {
	base := filepath.Join(c.dir, diffID.Hex)
	return base + ".tar.gz", base + ".json"
}

func tarDir(dir string) string { return filepath.Join(dir, "tars") }

func recipeDir(dir string) string { return filepath.Join(dir, "recipes") }

// layerRecipeVersion is part of every recipe: a change to the bytes
// writeTar writes for the same entries must change it, so that no recipe
// names a layer an older writer made.
const layerRecipeVersion = "onesbuild direct layer 1"

// recipeKey names the layer of paths without reading any content: the
// snapshot is content-addressed (its hash is the hash of the archive its
// entries are read from), and the rest of what writeTar writes is each
// path's header. A snapshot whose hash is not known has no recipe.
func recipeKey(t *tree, paths []string, snap *buildcontext.Snapshot) (string, bool) {
	if snap == nil || !strings.HasPrefix(snap.SHA256, "sha256:") {
		return "", false
	}
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s", len(s), s) }
	// The tar writer is the toolchain's: a new one may write other bytes.
	field(layerRecipeVersion + " " + runtime.Version())
	field(snap.SHA256)
	for _, p := range paths {
		field(p)
		n := t.nodes[p]
		if n == nil {
			field("whiteout")
			continue
		}
		field(fmt.Sprintf("%d %o %d %d %d", n.Type, n.Mode, n.UID, n.GID, n.size))
		field(n.Link)
		field(n.src)
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// recipeRecord is what a recipe made.
type recipeRecord struct {
	DiffID string `json:"diff_id"`
}

// recipe is the uncompressed digest of the layer a recipe made; an
// empty key (no recipe) reads nothing.
func (c *layerCache) recipe(key string) (v1.Hash, bool) {
	if key == "" {
		return v1.Hash{}, false
	}
	name := filepath.Join(recipeDir(c.dir), key+".json")
	raw, err := os.ReadFile(name)
	if err != nil {
		return v1.Hash{}, false
	}
	var r recipeRecord
	if json.Unmarshal(raw, &r) != nil {
		return v1.Hash{}, false
	}
	diffID, err := v1.NewHash(r.DiffID)
	if err != nil {
		return v1.Hash{}, false
	}
	now := time.Now()
	_ = os.Chtimes(name, now, now)
	return diffID, true
}

// saveRecipe records the layer a recipe made; a record that cannot be
// written only costs the next build of the recipe a hash of its tar.
func (c *layerCache) saveRecipe(key string, diffID v1.Hash) {
	_ = cachefile.WriteJSON(filepath.Join(recipeDir(c.dir), key+".json"), recipeRecord{DiffID: diffID.String()})
}

// hasTar says whether the tar kept for diffID is there, and touches it:
// the build that found it relies on it for its SBOM.
func (c *layerCache) hasTar(diffID v1.Hash) bool {
	name := tarPath(c.dir, diffID)
	fi, err := os.Stat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	now := time.Now()
	_ = os.Chtimes(name, now, now)
	return true
}

func tarPath(dir string, diffID v1.Hash) string {
	return filepath.Join(tarDir(dir), diffID.Hex+".tar")
}

// hashTar is the uncompressed digest of the layer of paths; a cache that
// keeps tars writes the tar to its place on the way (a rename, so that
// a reader never sees part of one; concurrent builds of one layer write
// the same bytes). A tar that cannot be kept is not an error: the SBOM
// then reads the compressed layer. A small layer's tar is also returned
// (held gives it back), so that a layer the cache does not have is
// compressed from the bytes just hashed instead of read and hashed again.
func (c *layerCache) hashTar(t *tree, paths []string, snap *buildcontext.Snapshot, ctx *contextFiles) (diffID v1.Hash, held *heldTar, err error) {
	uncompressed := sha256.New()
	sinks := []io.Writer{uncompressed}
	held = holdTar(t, paths)
	if held != nil {
		sinks = append(sinks, held)
	}
	var kept *os.File
	if c.keepTars && os.MkdirAll(tarDir(c.dir), 0o700) == nil {
		kept, _ = os.CreateTemp(tarDir(c.dir), "onesbuild-tar-*")
	}
	var file *bestEffortWriter
	if kept != nil {
		defer os.Remove(kept.Name()) // after a rename, nothing
		file = &bestEffortWriter{w: bufio.NewWriterSize(kept, 256<<10)}
		sinks = append(sinks, file)
	}
	if err := writeTar(io.MultiWriter(sinks...), t, paths, snap, ctx); err != nil {
		if kept != nil {
			_ = kept.Close()
		}
		held.release()
		return v1.Hash{}, nil, err
	}
	diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(uncompressed.Sum(nil))}
	if held != nil && held.overflow {
		held.release()
		held = nil
	}
	if kept != nil {
		if file.flush() == nil && kept.Close() == nil {
			_ = os.Rename(kept.Name(), tarPath(c.dir, diffID))
		} else {
			_ = kept.Close()
		}
	}
	return diffID, held, nil
}

// heldTarMax bounds the memory reserved for one layer's tar between its
// hash and its compression; heldTarBudget what all builds of the process
// reserve at once (Terraform applies ten resources at a time).
const (
	heldTarMax    = 32 << 20
	heldTarBudget = 256 << 20
)

// heldTars is what the process has reserved now.
var heldTars = &byteBudget{left: heldTarBudget}

// heldTar is a layer's tar in memory, in a buffer of exactly the
// reserved size: a tar that does not fit is not held (overflow), and the
// layer is then compressed from the snapshot.
type heldTar struct {
	buf      []byte
	overflow bool
	taken    int64
}

// holdTar reserves room for the tar of paths, or nil when it would be
// larger than heldTarMax or the process has reserved enough already. The
// reservation is what archive/tar writes at most for such entries: each
// content padded to a block, a header block, and an extended header for
// a long name or link (both counted twice, for the record and its
// padding), plus the two blocks that end the archive.
func holdTar(t *tree, paths []string) *heldTar {
	const block = 512
	size := int64(2 * block)
	for _, p := range paths {
		size += 3*block + 2*int64(len(p))
		if n := t.nodes[p]; n != nil {
			size += (n.size+block-1)/block*block + 2*int64(len(n.Link))
		}
	}
	if size > heldTarMax || !heldTars.take(size) {
		return nil
	}
	return &heldTar{buf: make([]byte, 0, size), taken: size}
}

// Write holds p, or stops holding once the reservation is full.
func (h *heldTar) Write(p []byte) (int, error) {
	if !h.overflow {
		if len(h.buf)+len(p) > cap(h.buf) {
			h.overflow, h.buf = true, nil
		} else {
			h.buf = append(h.buf, p...)
		}
	}
	return len(p), nil
}

// release gives the memory back; a nil or released tar is fine.
func (h *heldTar) release() {
	if h == nil || h.taken == 0 {
		return
	}
	heldTars.give(h.taken)
	h.taken = 0
	h.buf = nil
}

// byteBudget is a number of bytes shared by concurrent builds.
type byteBudget struct {
	mu   sync.Mutex
	left int64
}

func (b *byteBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

func (b *byteBudget) give(n int64) {
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
}

// bestEffortWriter writes to w until the first error and then stops
// without failing, so that the writers beside it in a MultiWriter go on.
type bestEffortWriter struct {
	w   *bufio.Writer
	err error
}

func (b *bestEffortWriter) Write(p []byte) (int, error) {
	if b.err == nil {
		_, b.err = b.w.Write(p)
	}
	return len(p), nil
}

func (b *bestEffortWriter) flush() error {
	if b.err != nil {
		return b.err
	}
	return b.w.Flush()
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

// OpenCachedLayer opens a layer the builds with LayerCacheDir dir wrote,
// so that what reads a just-pushed image's layers (its SBOM) reads them
// here rather than from the registry: with tar, the tar a build kept for
// diffID; without, the compressed blob the cache holds under diffID with
// the given digest. Neither is hashed here: the reader checks the tar
// against diffID, the blob against digest, as it reads.
func OpenCachedLayer(dir string, diffID, digest v1.Hash, tar bool) (io.ReadCloser, bool) {
	if dir == "" {
		return nil, false
	}
	if tar {
		f, err := os.Open(tarPath(dir, diffID))
		if err != nil {
			return nil, false
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			_ = f.Close()
			return nil, false
		}
		return f, true
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
