// Package cachefile writes and ages the files of the provider's caches
// under the user's cache directory, where several Terraform runs may read
// and write at once: a file appears whole or not at all, and what nobody
// used for long goes.
package cachefile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// WriteJSON writes v as JSON to name through a temporary file in the
// same directory (created, 0700, when missing) and a rename, so that a
// reader never sees half of it.
func WriteJSON(name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(raw)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// PruneOlder removes the regular files of dir last modified before
// cutoff: entries nobody used since (readers touch what they use), and
// temporary files of runs that died.
func PruneOlder(dir string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
