package testcluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/hostprep"
)

// setupHint is the one command that fixes what Preflight finds.
const setupHint = "run `sudo scripts/setup-host.sh` (installs and starts Docker and, where needed, the runc wrapper)"

// Preflight checks the conditions kind needs and names the fix, instead
// of letting kind fail deep inside node creation.
func (h *Harness) Preflight(ctx context.Context) error {
	probe, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	version, err := output(probe, cmd("docker", "version", "--format", "{{.Server.Version}}"))
	if err != nil {
		return fmt.Errorf("no Docker engine answers: %s.\n  %v", setupHint, err)
	}
	runtime, err := output(probe, cmd("docker", "info", "--format", "{{.DefaultRuntime}}"))
	if err != nil {
		return fmt.Errorf("docker info failed: %w", err)
	}
	status, err := os.Open("/proc/self/status")
	if err != nil {
		return err
	}
	defer status.Close()
	bounding, err := hostprep.ReadBoundingSet(status)
	if err != nil {
		return err
	}
	if problem := privilegedProblem(bounding, runtime); problem != "" {
		return fmt.Errorf("%s: %s", problem, setupHint)
	}
	h.Progress.Printf("docker %s answers (default runtime %s)", version, runtime)
	return nil
}

// capFilterRuntime is the runtime name scripts/setup-host.sh registers.
const capFilterRuntime = "onesbuild-runc"

// privilegedProblem explains why privileged containers would fail, or
// returns "".
func privilegedProblem(bounding hostprep.CapabilitySet, defaultRuntime string) string {
	missing := bounding.Missing()
	if len(missing) == 0 || defaultRuntime == capFilterRuntime {
		return ""
	}
	return fmt.Sprintf("privileged containers (kind nodes) will fail with \"unable to apply caps\": this host's capability bounding set lacks %s and Docker's default runtime is %q, not the %s wrapper",
		strings.Join(missing, ", "), defaultRuntime, capFilterRuntime)
}
