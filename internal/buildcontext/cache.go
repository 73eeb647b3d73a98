package buildcontext

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/cachefile"
)

// RacyWindow is how recent a write may be for a file's cached digest to
// be used: a file written within it may be written again within the
// same clock tick, leaving its size and times as they were, so it is
// always read.
const RacyWindow = 2 * time.Second

// hashCacheVersion names the cache's format; a change of the archive
// format or of the fingerprint changes it, and old files are ignored.
const hashCacheVersion = "context-hash-v1"

// maxContextsPerRoot bounds the archive hashes remembered per context
// directory: the current one and a few to switch back to (a branch, a
// revert).
const maxContextsPerRoot = 4

// statKey is what a cached file digest is valid for (see statKeyOf).
type statKey struct {
	Size       int64  `json:"size"`
	ModifiedNs int64  `json:"mtime_ns"`
	ChangedNs  int64  `json:"ctime_ns"`
	Inode      uint64 `json:"ino"`
	Device     uint64 `json:"dev"`
}

// fileRecord is one file's cached content digest.
type fileRecord struct {
	Stat   statKey `json:"stat"`
	SHA256 string  `json:"sha256"`
}

// rootRecord is what the cache keeps for one context directory: the
// digest of each file's content, and the archive hash for each
// fingerprint (the entries' headers and content digests) seen lately.
type rootRecord struct {
	Files    map[string]fileRecord `json:"files"`
	Contexts []contextRecord       `json:"contexts"`
}

type contextRecord struct {
	Fingerprint string  `json:"fingerprint"`
	Summary     Summary `json:"summary"`
}

// HashCache makes Hash of an unchanged context directory read no file
// content: per-file digests are kept by (path, size, modification and
// change time, inode), and the archive hash by the fingerprint of the
// entries' headers and digests, so the result is byte for byte what
// Source.Hash returns. A file written within RacyWindow is always read.
// It is safe for concurrent use, also by several processes sharing Dir
// (each writes whole files by rename; the last one wins).
type HashCache struct {
	// Dir keeps the records between runs; empty keeps them in memory.
	Dir string
	// Now is the clock RacyWindow is measured with; time.Now when nil.
	Now func() time.Time

	mu    sync.Mutex
	roots map[string]*rootRecord
	// rootLocks serialise the hashing of one directory, so that two
	// resources of the same context read it once.
	rootLocks map[string]*sync.Mutex
}

// HashStats says how a Hash was answered, for tests and logs.
type HashStats struct {
	// Hit is true when no file content was read for the archive.
	Hit bool
	// FilesRead counts the files whose content was read.
	FilesRead int
}

// Hash returns what s.Hash returns. Contexts that are not a directory
// (generated files) are hashed directly: they are in memory.
func (c *HashCache) Hash(ctx context.Context, s Source) (Summary, error) {
	sum, _, err := c.HashWithStats(ctx, s)
	return sum, err
}

// HashWithStats is Hash, also telling how it was answered.
func (c *HashCache) HashWithStats(ctx context.Context, s Source) (Summary, HashStats, error) {
	if c == nil || s.Dir == "" {
		sum, err := s.Hash(ctx)
		return sum, HashStats{}, err
	}
	if err := s.Validate(); err != nil {
		return Summary{}, HashStats{}, err
	}
	root, err := filepath.EvalSymlinks(s.Dir)
	if err != nil {
		return Summary{}, HashStats{}, fmt.Errorf("resolving context directory: %w", err)
	}
	if root, err = filepath.Abs(root); err != nil {
		return Summary{}, HashStats{}, err
	}
	lock := c.rootLock(root)
	lock.Lock()
	defer lock.Unlock()

	entries, err := s.entries(ctx)
	if err != nil {
		return Summary{}, HashStats{}, err
	}
	rec := c.load(root)
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	settled := now().Add(-RacyWindow).UnixNano()
	if fp, ok := fingerprint(entries, rec.Files, settled); ok {
		for _, known := range rec.Contexts {
			if known.Fingerprint == fp {
				return known.Summary, HashStats{Hit: true}, nil
			}
		}
	}

	// Read everything: the archive hash is over every byte. The digests
	// of the files are taken on the way, for the next time.
	digests := map[string]string{}
	sum, _, err := writeEntries(ctx, io.Discard, entries, digests)
	if err != nil {
		return Summary{}, HashStats{}, err
	}
	// The records of files this walk did not see stay: another source
	// of the same directory (another Dockerfile, other ignore rules)
	// reads them, and a record is only used while the file's stat
	// matches it.
	files := make(map[string]fileRecord, len(rec.Files)+len(entries))
	for name, r := range rec.Files {
		files[name] = r
	}
	for _, e := range entries {
		if e.stat == nil {
			continue
		}
		delete(files, e.name)
		if d, ok := digests[e.name]; ok && settledStat(*e.stat, settled) {
			files[e.name] = fileRecord{Stat: *e.stat, SHA256: d}
		}
	}
	next := &rootRecord{Files: files}
	if fp, ok := fingerprint(entries, files, settled); ok {
		next.Contexts = append(next.Contexts, contextRecord{Fingerprint: fp, Summary: sum})
	}
	for _, known := range rec.Contexts {
		if len(next.Contexts) < maxContextsPerRoot && (len(next.Contexts) == 0 || known.Fingerprint != next.Contexts[0].Fingerprint) {
			next.Contexts = append(next.Contexts, known)
		}
	}
	c.store(root, next)
	return sum, HashStats{FilesRead: len(digests)}, nil
}

// settledStat tells a file last written and changed before settled.
func settledStat(st statKey, settled int64) bool {
	return st.ModifiedNs < settled && st.ChangedNs < settled
}

// fingerprint hashes the entries' headers with the content digests of
// their regular files, taken from files, or of generated content. It is
// not ok when a regular file of the directory has no settled record.
func fingerprint(entries []entry, files map[string]fileRecord, settled int64) (string, bool) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", hashCacheVersion)
	for _, e := range entries {
		digest := ""
		if e.typeflag == tar.TypeReg {
			switch {
			case e.stat != nil:
				r, ok := files[e.name]
				if !ok || r.Stat != *e.stat || !settledStat(*e.stat, settled) {
					return "", false
				}
				digest = r.SHA256
			case e.content != nil:
				sum := sha256.Sum256([]byte(*e.content))
				digest = hex.EncodeToString(sum[:])
			default:
				return "", false
			}
		}
		fmt.Fprintf(h, "%q %d %o %d %q %t %s\n", e.name, e.typeflag, e.mode, e.size, e.linkname, e.builderOnly, digest)
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

func (c *HashCache) rootLock(root string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rootLocks == nil {
		c.rootLocks = map[string]*sync.Mutex{}
	}
	l, ok := c.rootLocks[root]
	if !ok {
		l = &sync.Mutex{}
		c.rootLocks[root] = l
	}
	return l
}

// recordPath is where root's record is kept.
func (c *HashCache) recordPath(root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(c.Dir, hashCacheVersion, hex.EncodeToString(sum[:16])+".json")
}

// load returns root's record: in memory, else from Dir, else empty. A
// record that cannot be read is treated as absent: the cache only ever
// saves work.
func (c *HashCache) load(root string) *rootRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.roots[root]; ok {
		return r
	}
	r := &rootRecord{}
	if c.Dir != "" {
		if raw, err := os.ReadFile(c.recordPath(root)); err == nil {
			if json.Unmarshal(raw, r) != nil {
				r = &rootRecord{}
			}
		}
	}
	if c.roots == nil {
		c.roots = map[string]*rootRecord{}
	}
	c.roots[root] = r
	return r
}

// store keeps root's record in memory and writes it to Dir. A failed
// write costs the next run a read of the context, nothing more.
func (c *HashCache) store(root string, r *rootRecord) {
	c.mu.Lock()
	if c.roots == nil {
		c.roots = map[string]*rootRecord{}
	}
	c.roots[root] = r
	c.mu.Unlock()
	if c.Dir == "" {
		return
	}
	_ = writeFileAtomic(c.recordPath(root), r)
}

// writeFileAtomic keeps a record; a cache directory removed meanwhile
// is no error (the record is only a shortcut).
func writeFileAtomic(name string, v any) error {
	if err := cachefile.WriteJSON(name, v); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
