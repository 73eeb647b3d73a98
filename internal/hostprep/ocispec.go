package hostprep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// capabilityLists are the fields of an OCI process' "capabilities" object.
var capabilityLists = []string{"bounding", "effective", "inheritable", "permitted", "ambient"}

// FilterSpecCapabilities removes every capability that allowed does not
// contain from the process capabilities of an OCI document. doc is either
// a bundle's config.json (capabilities under "process") or a process spec
// as passed to "runc exec --process" (capabilities at the top level).
// Everything else in the document is preserved, numbers included. It
// returns the new document and the names it removed.
func FilterSpecCapabilities(doc []byte, allowed CapabilitySet) ([]byte, []string, error) {
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, nil, fmt.Errorf("decoding OCI document: %w", err)
	}
	process := root
	if p, ok := root["process"].(map[string]any); ok {
		process = p
	}
	caps, ok := process["capabilities"].(map[string]any)
	if !ok {
		return doc, nil, nil
	}
	removedSet := map[string]bool{}
	for _, list := range capabilityLists {
		names, ok := caps[list].([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(names))
		for _, n := range names {
			name, _ := n.(string)
			if name != "" && !allowed.Has(name) {
				removedSet[name] = true
				continue
			}
			kept = append(kept, n)
		}
		caps[list] = kept
	}
	if len(removedSet) == 0 {
		return doc, nil, nil
	}
	out, err := json.Marshal(root)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding OCI document: %w", err)
	}
	removed := make([]string, 0, len(removedSet))
	for _, name := range capabilityNames {
		if removedSet[name] {
			removed = append(removed, name)
		}
	}
	return out, removed, nil
}

// SpecFileFromRuncArgs returns the OCI document a runc invocation will
// read capabilities from: the --process file of "runc exec", or the
// config.json of the --bundle (default: the working directory) of "runc
// create" and "runc run". Other subcommands return "".
func SpecFileFromRuncArgs(args []string, workDir string) string {
	command := ""
	bundle, process := "", ""
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if command == "" {
			if globalFlagsWithValue[arg] {
				i++
				continue
			}
			if !strings.HasPrefix(arg, "-") {
				command = arg
			}
			continue
		}
		for _, f := range []struct {
			names []string
			dest  *string
		}{{[]string{"--bundle", "-b"}, &bundle}, {[]string{"--process", "-p"}, &process}} {
			for _, name := range f.names {
				if arg == name && i+1 < len(args) {
					*f.dest = args[i+1]
				} else if v, ok := strings.CutPrefix(arg, name+"="); ok {
					*f.dest = v
				}
			}
		}
	}
	switch command {
	case "exec":
		return process
	case "create", "run":
		if bundle == "" {
			bundle = workDir
		}
		return filepath.Join(bundle, "config.json")
	}
	return ""
}

// globalFlagsWithValue are runc's global flags that take a separate value
// argument; containerd's shim passes "--root <dir> --log <file>
// --log-format json" before the subcommand.
var globalFlagsWithValue = map[string]bool{
	"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true,
}

// FilterSpecFile rewrites path in place with FilterSpecCapabilities.
func FilterSpecFile(path string, allowed CapabilitySet) ([]string, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, removed, err := FilterSpecCapabilities(doc, allowed)
	if err != nil || len(removed) == 0 {
		return removed, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return removed, os.WriteFile(path, out, info.Mode().Perm())
}
