package feasibility

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"| Base image pull (direct: resolve base) | ~6.00s | 2.00s (1.00s to 3.00s) | 0.30s (0.20s to 0.40s) | 0.01s | - |",
		"| Executor peak memory | ~512Mi | 100Mi | - | - | - |",
		"38.0 MB compressed",
		"kaniko warm: 2 run(s), 1 failed (first: pod evicted)",
		"| Ten direct builds in one apply vs one | at most 1.5x | 0.90s vs 0.50s: 1.80x one | **no** |",
		"| Memory | 512Mi | 2Gi | 100Mi |",
		"- parallel kaniko: not asked for",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
