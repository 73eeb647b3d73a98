package cachefile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteJSONIsWholeAndPruneKeepsWhatIsUsed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	name := filepath.Join(dir, "a.json")
	if err := WriteJSON(name, map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(name)
	var got map[string]int
	if err != nil || json.Unmarshal(raw, &got) != nil || got["n"] != 1 {
		t.Fatalf("read back %q, %v", raw, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	old := filepath.Join(dir, "old.json")
	if err := WriteJSON(old, 1); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	PruneOlder(dir, time.Now().Add(-24*time.Hour))
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("an entry unused for two days survived a one-day prune: %v", err)
	}
	if _, err := os.Stat(name); err != nil {
		t.Errorf("a fresh entry was pruned: %v", err)
	}
}
