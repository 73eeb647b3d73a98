package build

import (
	"strings"
	"testing"
	"time"
)

func TestHistoryLabels(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	spec := Spec{Context: Context{URL: "https://u:secret@host/ctx.tar.gz?sig=secret"}, Labels: map[string]string{"team": "a"}}
	got := HistoryLabels(spec, "1.2.3", now)
	if got[LabelCreated] != "2026-11-26T09:30:00Z" || got[LabelProviderVersion] != "1.2.3" || got[LabelContextSHA256] != URLHash(spec.Context.URL) || got["team"] != "a" {
		t.Errorf("labels = %v", got)
	}
	for k, v := range got {
		if strings.Contains(v, "secret") {
			t.Errorf("label %s = %q leaks a credential", k, v)
		}
	}
	spec.Reproducible, spec.Created = true, time.Unix(0, 0)
	a, b := HistoryLabels(spec, "1.2.3", now), HistoryLabels(spec, "1.2.4", now.Add(time.Hour))
	if len(a) != len(b) {
		t.Fatalf("reproducible labels vary: %v vs %v", a, b)
	}
	for k := range a {
		if a[k] != b[k] {
			t.Errorf("reproducible label %s varies between runs: %q vs %q", k, a[k], b[k])
		}
	}
	if a[LabelCreated] != "1970-01-01T00:00:00Z" {
		t.Errorf("reproducible created = %q", a[LabelCreated])
	}
}
