package testcluster

import (
	"strings"
	"testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/hostprep"
)

func TestPrivilegedProblem(t *testing.T) {
	const full hostprep.CapabilitySet = 0x000001ffffffffff
	const lacksSysResource hostprep.CapabilitySet = 0x000001fffeffffff
	if p := privilegedProblem(full, "runc"); p != "" {
		t.Errorf("complete bounding set reported %q", p)
	}
	if p := privilegedProblem(lacksSysResource, capFilterRuntime); p != "" {
		t.Errorf("wrapper installed but reported %q", p)
	}
	p := privilegedProblem(lacksSysResource, "runc")
	if !strings.Contains(p, "CAP_SYS_RESOURCE") || !strings.Contains(p, capFilterRuntime) {
		t.Errorf("problem %q does not name the missing capability and the fix", p)
	}
}
