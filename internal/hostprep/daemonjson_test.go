package hostprep

import (
	"encoding/json"
	"testing"
)

func TestMergeDaemonConfig(t *testing.T) {
	existing := []byte(`{"log-driver": "journald", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}}, "default-runtime": "runc"}`)
	out, changed, err := MergeDaemonConfig(existing, "onesbuild-runc", "/usr/local/libexec/onesbuild/runc-capfilter")
	if err != nil || !changed {
		t.Fatalf("merge: %v, changed %v", err, changed)
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	runtimes := cfg["runtimes"].(map[string]any)
	if cfg["log-driver"] != "journald" || runtimes["nvidia"] == nil {
		t.Errorf("existing settings were lost: %s", out)
	}
	if cfg["default-runtime"] != "onesbuild-runc" || runtimes["onesbuild-runc"].(map[string]any)["path"] != "/usr/local/libexec/onesbuild/runc-capfilter" {
		t.Errorf("runtime not registered as default: %s", out)
	}
	again, changed, err := MergeDaemonConfig(out, "onesbuild-runc", "/usr/local/libexec/onesbuild/runc-capfilter")
	if err != nil || changed || string(again) != string(out) {
		t.Errorf("a second merge changed the file (changed %v, err %v)", changed, err)
	}
	if _, _, err := MergeDaemonConfig([]byte("{not json"), "x", "/x"); err == nil {
		t.Error("a broken daemon.json was overwritten instead of refused")
	}
	if out, changed, err := MergeDaemonConfig(nil, "x", "/x"); err != nil || !changed || len(out) == 0 {
		t.Errorf("empty file: %s %v %v", out, changed, err)
	}
}
