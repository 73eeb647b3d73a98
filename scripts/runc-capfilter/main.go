// Command runc-capfilter is a runc wrapper for Docker hosts whose
// capability bounding set is incomplete. Registered as Docker's default
// runtime, it removes from the container's OCI spec every capability the
// host cannot grant, then executes the real runc with the same arguments.
// See package hostprep for why kind needs it.
package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/hostprep"
)

// realRuncCandidates are tried in order; ONESBUILD_REAL_RUNC overrides them.
var realRuncCandidates = []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"}

func main() {
	realRunc := os.Getenv("ONESBUILD_REAL_RUNC")
	if realRunc == "" {
		for _, c := range realRuncCandidates {
			if _, err := os.Stat(c); err == nil {
				realRunc = c
				break
			}
		}
	}
	if realRunc == "" {
		fmt.Fprintln(os.Stderr, "runc-capfilter: no runc found; set ONESBUILD_REAL_RUNC")
		os.Exit(127)
	}
	if err := filter(os.Args[1:]); err != nil {
		// runc reports its own, clearer error if the spec still cannot run.
		fmt.Fprintf(os.Stderr, "runc-capfilter: %v\n", err)
	}
	argv := append([]string{realRunc}, os.Args[1:]...)
	if err := syscall.Exec(realRunc, argv, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfilter: exec %s: %v\n", realRunc, err)
		os.Exit(127)
	}
}

func filter(args []string) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	spec := hostprep.SpecFileFromRuncArgs(args, wd)
	if spec == "" {
		return nil
	}
	status, err := os.Open("/proc/self/status")
	if err != nil {
		return err
	}
	defer status.Close()
	allowed, err := hostprep.ReadBoundingSet(status)
	if err != nil {
		return err
	}
	_, err = hostprep.FilterSpecFile(spec, allowed)
	return err
}
