package testcluster

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Cache is the directory holding expensive build outputs, one entry per
// component and version.
type Cache struct {
	Dir string
}

// DefaultCache is $ONESBUILD_CACHE, else ~/.cache/onesbuild.
func DefaultCache() Cache {
	if d := os.Getenv("ONESBUILD_CACHE"); d != "" {
		return Cache{Dir: d}
	}
	if d, err := os.UserCacheDir(); err == nil {
		return Cache{Dir: filepath.Join(d, "onesbuild")}
	}
	return Cache{Dir: filepath.Join(os.TempDir(), "onesbuild-cache")}
}

// Path joins elements under the cache directory.
func (c Cache) Path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

// LogPath is where the log of a step is kept.
func (c Cache) LogPath(name string) string { return c.Path("logs", name+".log") }

// recipeStamp is written next to an output once it is complete; a
// different recipe (version, flags) invalidates the output.
const recipeStamp = ".onesbuild-recipe"

// fresh reports whether dir holds a complete output of recipe with all of
// the given files.
func fresh(dir, recipe string, files ...string) bool {
	got, err := os.ReadFile(filepath.Join(dir, recipeStamp))
	if err != nil || string(got) != recipe {
		return false
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// markFresh records that dir holds a complete output of recipe.
func markFresh(dir, recipe string) error {
	return os.WriteFile(filepath.Join(dir, recipeStamp), []byte(recipe), 0o644)
}

// recipeHash is a short, stable name for a recipe.
func recipeHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:12]
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
