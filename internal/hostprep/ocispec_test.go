package hostprep

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// ciBoundingSet is the CapBnd seen on the project's CI machines: every
// capability up to CAP_CHECKPOINT_RESTORE except CAP_SYS_RESOURCE.
const ciBoundingSet CapabilitySet = 0x000001fffeffffff

func TestReadBoundingSet(t *testing.T) {
	status := "Name:\tcat\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n"
	got, err := ReadBoundingSet(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if got != ciBoundingSet {
		t.Fatalf("got %x, want %x", uint64(got), uint64(ciBoundingSet))
	}
	if missing := got.Missing(); !reflect.DeepEqual(missing, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("missing = %v", missing)
	}
	if _, err := ReadBoundingSet(strings.NewReader("Name:\tcat\n")); err == nil {
		t.Fatal("expected an error for a status without CapBnd")
	}
	if _, err := ReadBoundingSet(strings.NewReader("CapBnd:\tzz\n")); err == nil {
		t.Fatal("expected an error for a malformed CapBnd")
	}
}

func TestFilterSpecCapabilities(t *testing.T) {
	all := []any{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN", "CAP_FUTURE_THING"}
	tests := []struct {
		name        string
		doc         map[string]any
		capsOf      func(map[string]any) map[string]any
		wantRemoved []string
	}{
		{
			name: "bundle config",
			doc: map[string]any{
				"ociVersion": "1.0.2",
				"process": map[string]any{
					"user":         map[string]any{"uid": 4294967294},
					"capabilities": map[string]any{"bounding": all, "effective": all, "permitted": all},
				},
				"linux": map[string]any{"resources": map[string]any{"memory": map[string]any{"limit": 9007199254740993}}},
			},
			capsOf: func(d map[string]any) map[string]any {
				return d["process"].(map[string]any)["capabilities"].(map[string]any)
			},
			wantRemoved: []string{"CAP_SYS_RESOURCE"},
		},
		{
			name:        "exec process spec",
			doc:         map[string]any{"args": []any{"sh"}, "capabilities": map[string]any{"bounding": all, "ambient": []any{}}},
			capsOf:      func(d map[string]any) map[string]any { return d["capabilities"].(map[string]any) },
			wantRemoved: []string{"CAP_SYS_RESOURCE"},
		},
		{
			name: "nothing to remove",
			doc:  map[string]any{"process": map[string]any{"capabilities": map[string]any{"bounding": []any{"CAP_CHOWN"}}}},
			capsOf: func(d map[string]any) map[string]any {
				return d["process"].(map[string]any)["capabilities"].(map[string]any)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := json.Marshal(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			out, removed, err := FilterSpecCapabilities(in, ciBoundingSet)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(removed, tt.wantRemoved) {
				t.Fatalf("removed = %v, want %v", removed, tt.wantRemoved)
			}
			if len(tt.wantRemoved) == 0 && string(out) != string(in) {
				t.Fatalf("document changed although nothing was removed:\n%s", out)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			for list, names := range tt.capsOf(got) {
				for _, n := range names.([]any) {
					if n == "CAP_SYS_RESOURCE" {
						t.Errorf("%s still holds CAP_SYS_RESOURCE", list)
					}
				}
			}
			if strings.Contains(string(in), "9007199254740993") && !strings.Contains(string(out), "9007199254740993") {
				t.Errorf("large integer was not preserved: %s", out)
			}
			if strings.Contains(string(in), "CAP_FUTURE_THING") && !strings.Contains(string(out), "CAP_FUTURE_THING") {
				t.Errorf("unknown capability was dropped: %s", out)
			}
		})
	}
}

func TestSpecFileFromRuncArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--root", "/run/runc/moby", "--log", "/run/x/log.json", "--log-format", "json", "create", "--bundle", "/run/b", "--pid-file", "/run/b/pid", "abc"}, "/run/b/config.json"},
		{[]string{"create", "--bundle=/run/c", "abc"}, "/run/c/config.json"},
		{[]string{"run", "abc"}, "/work/config.json"},
		{[]string{"--root", "/r", "exec", "--process", "/tmp/p.json", "--detach", "abc"}, "/tmp/p.json"},
		{[]string{"exec", "-p", "/tmp/q.json", "abc"}, "/tmp/q.json"},
		{[]string{"exec", "abc", "sh"}, ""},
		{[]string{"--root", "/r", "start", "abc"}, ""},
		{[]string{"features"}, ""},
	}
	for _, tt := range tests {
		if got := SpecFileFromRuncArgs(tt.args, "/work"); got != tt.want {
			t.Errorf("SpecFileFromRuncArgs(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestFilterSpecFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(`{"process":{"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := FilterSpecFile(path, ciBoundingSet)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(removed, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("removed = %v", removed)
	}
	got, _ := os.ReadFile(path)
	if string(got) != `{"process":{"capabilities":{"bounding":["CAP_KILL"]}}}` {
		t.Fatalf("file = %s", got)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode changed to %v", info.Mode().Perm())
	}
}
