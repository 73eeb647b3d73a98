package direct

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestBaseIndexCacheFormat: a cached index of another format (written
// by another version of the provider, or the bare map of the first) is
// never used: the index is read again from the image and rewritten.
func TestBaseIndexCacheFormat(t *testing.T) {
	img, err := mutate.AppendLayers(empty.Image, tarLayer(t, &tar.Header{Typeflag: tar.TypeReg, Name: "etc/real", Mode: 0o644}))
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	write := func(file string, v any) {
		t.Helper()
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		gz := gzip.NewWriter(f)
		if err := json.NewEncoder(gz).Encode(v); err != nil {
			t.Fatal(err)
		}
		gz.Close()
		f.Close()
	}
	stale := map[string]*node{"/": {Type: tar.TypeDir, Mode: 0o755}, "/etc/stale": {Type: tar.TypeReg, Mode: 0o644}}
	for name, content := range map[string]any{
		"an older format":           cachedIndex{Format: indexFormat - 1, Nodes: stale},
		"a newer format":            cachedIndex{Format: indexFormat + 1, Nodes: stale},
		"the bare map of version 1": stale,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(indexFile(dir, digest), content)
			nodes, cached, err := loadBaseIndex(img, digest, dir)
			if err != nil {
				t.Fatal(err)
			}
			if cached || nodes["/etc/stale"] != nil || nodes["/etc/real"] == nil {
				t.Errorf("the stale cache was used (cached %v): %v", cached, keys(nodes))
			}
			again, cached, err := loadBaseIndex(img, digest, dir)
			if err != nil || !cached || again["/etc/real"] == nil {
				t.Errorf("the index read again was not cached: cached %v, %v", cached, err)
			}
		})
	}
	if filepath.Base(indexFile("d", v1.Hash{Algorithm: "sha256", Hex: "ab"})) != "index-v2-sha256-ab.json.gz" {
		t.Errorf("the cache file names its format: %s", indexFile("d", v1.Hash{Algorithm: "sha256", Hex: "ab"}))
	}
}

func keys(m map[string]*node) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
