// Command daemon-json registers a runtime as Docker's default in
// daemon.json, keeping the file's other settings (scripts/setup-host.sh
// runs it). It exits 0 and prints "changed" or "unchanged".
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/hostprep"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: daemon-json DAEMON_JSON RUNTIME_NAME RUNTIME_PATH")
		os.Exit(2)
	}
	file, name, path := os.Args[1], os.Args[2], os.Args[3]
	existing, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "daemon-json:", err)
		os.Exit(1)
	}
	out, changed, err := hostprep.MergeDaemonConfig(existing, name, path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "daemon-json: %s: %v\n", file, err)
		os.Exit(1)
	}
	if !changed {
		fmt.Println("unchanged")
		return
	}
	if len(existing) > 0 {
		if err := os.WriteFile(file+".onesbuild-backup", existing, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "daemon-json:", err)
			os.Exit(1)
		}
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "daemon-json:", err)
		os.Exit(1)
	}
	fmt.Println("changed")
}
