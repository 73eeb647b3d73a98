package hostprep

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MergeDaemonConfig adds a runtime to Docker's daemon.json and makes it
// the default, keeping every other setting of the existing file (which
// may be empty). It reports whether anything changed.
func MergeDaemonConfig(existing []byte, runtime, path string) ([]byte, bool, error) {
	cfg := map[string]any{}
	if len(bytes.TrimSpace(existing)) > 0 {
		if err := json.Unmarshal(existing, &cfg); err != nil {
			return nil, false, fmt.Errorf("daemon.json is not valid JSON, so it cannot be merged safely: %w", err)
		}
	}
	runtimes, _ := cfg["runtimes"].(map[string]any)
	if runtimes == nil {
		runtimes = map[string]any{}
	}
	current, _ := runtimes[runtime].(map[string]any)
	if current != nil && current["path"] == path && cfg["default-runtime"] == runtime {
		return existing, false, nil
	}
	runtimes[runtime] = map[string]any{"path": path}
	cfg["runtimes"] = runtimes
	cfg["default-runtime"] = runtime
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, false, err
	}
	return append(out, '\n'), true, nil
}
