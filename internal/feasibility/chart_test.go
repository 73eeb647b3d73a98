package feasibility

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"
)

func TestBarsAddUpToTheMeasuredTotals(t *testing.T) {
	r := sampleReport()
	for _, b := range r.Bars() {
		sum := 0.0
		for _, s := range b.Segments {
			sum += s.value
		}
		if math.Abs(sum-b.Total) > 1e-9 {
			t.Errorf("bar %s: segments add up to %.3f, total %.3f", b.Label, sum, b.Total)
		}
		if b.Label == KanikoCold {
			want := r.Summarize(KanikoCold, BuildTotal).Median + r.Summarize(KanikoCold, RunFirstLog).Median
			if math.Abs(b.Total-want) > 1e-9 {
				t.Errorf("kaniko cold bar = %.3f, want build total + run = %.3f", b.Total, want)
			}
			other := false
			for _, s := range b.Segments {
				other = other || strings.HasPrefix(s.label, "Other")
			}
			if !other {
				t.Error("the time no phase accounts for has no segment")
			}
		}
	}
}

func TestSVG(t *testing.T) {
	svg := sampleReport().SVG()
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	for _, want := range []string{KanikoCold, Direct, Floor, "study", "Base image pull (direct: resolve base): 2.00s", "Other (time no phase accounts for)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}
