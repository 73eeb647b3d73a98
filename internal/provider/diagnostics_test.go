package provider

import (
	"testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// TestEveryFailureHasAdvice keeps a new failure reason from reaching users
// as the generic "Image Build Failed" with no advice.
func TestEveryFailureHasAdvice(t *testing.T) {
	for _, r := range build.Reasons() {
		a, ok := buildAdvice[r]
		if !ok || a.summary == "" || a.advice == "" {
			t.Errorf("failure reason %s has no summary and advice in buildAdvice", r)
		}
	}
}
