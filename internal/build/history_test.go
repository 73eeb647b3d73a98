package build

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakePruner records what RecordHistory asks of it.
type fakePruner struct {
	mu      sync.Mutex
	key     string
	protect []string
	err     error
}

func (p *fakePruner) PruneHistory(_ context.Context, _, key string, _ int, protect []string, _ bool, report func(tag, digest string)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.key, p.protect = key, protect
	if p.err != nil {
		return p.err
	}
	report("onesbuild-"+key+"-old", "sha256:old")
	return nil
}

func (p *fakePruner) Address(repo string) string { return repo }

func TestRecordHistoryTagsBuildsAndPrunes(t *testing.T) {
	var seen Spec
	next := builds(func(_ context.Context, s Spec) (*Result, error) {
		seen = s
		return &Result{Digest: "sha256:new"}, nil
	})
	p := &fakePruner{}
	h := RecordHistory{
		ProviderVersion: "test", Clock: func() time.Time { return time.Unix(100, 0) }, Pruner: p, Next: next,
		HistoryKey: func(string, []string) string { return "k" },
		HistoryTag: func(key string, at time.Time) string { return "onesbuild-" + key + "-" + at.UTC().Format("150405") },
	}
	res, err := h.Build(context.Background(), Spec{Repository: "r/app", Tags: []string{"latest"}, Retention: &Retention{KeepLast: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen.Tags) != 2 || seen.Tags[1] != "onesbuild-k-000140" {
		t.Errorf("tags passed to the executor = %v", seen.Tags)
	}
	if seen.Labels[LabelCreated] == "" {
		t.Errorf("labels passed to the executor = %v", seen.Labels)
	}
	if len(p.protect) != 1 || p.protect[0] != "sha256:new" {
		t.Errorf("the new build was not protected: %v", p.protect)
	}
	if len(res.Pruned) != 1 || res.Pruned[0].Digest != "sha256:old" {
		t.Errorf("pruned = %v", res.Pruned)
	}

	p.err = errors.New("registry down")
	res, err = h.Build(context.Background(), Spec{Repository: "r/app", Tags: []string{"latest"}, Retention: &Retention{KeepLast: 2}})
	if err != nil || len(res.Warnings) != 1 || res.Warnings[0].Kind != WarningRetention {
		t.Fatalf("a pruning failure must be a warning: err %v, warnings %v", err, res.Warnings)
	}
}
