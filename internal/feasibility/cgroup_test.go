package feasibility

import (
	"math"
	"strings"
	"testing"
)

func TestParseCgroupSamples(t *testing.T) {
	out := strings.Join([]string{
		"1000000000 10485760 10485760 0",
		"1100000000 52428800 60000000 50000000", // 0.05 s CPU in 0.1 s: 500m
		"1200000000 41943040 60000000 60000000", // 100m
		"1300000000 ",                           // cut short
		"1300000000 1 2 notanumber",
	}, "\n")
	p := ParseCgroupSamples(strings.NewReader(out))
	if p.Samples != 3 {
		t.Fatalf("samples = %d", p.Samples)
	}
	if math.Abs(p.CPUMillicores-500) > 1e-6 {
		t.Errorf("peak CPU = %v, want 500m", p.CPUMillicores)
	}
	if p.MemoryBytes != 60000000 {
		t.Errorf("peak memory = %d", p.MemoryBytes)
	}
	if empty := ParseCgroupSamples(strings.NewReader("")); empty.Samples != 0 || empty.CPUMillicores != 0 {
		t.Errorf("empty input gave %+v", empty)
	}
}
