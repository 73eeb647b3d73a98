package build

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:token@git.example.com/app.git#refs/heads/main":                        "https://git.example.com/app.git#refs/heads/main",
		"https://bucket.s3.amazonaws.com/ctx.tar.gz?X-Amz-Signature=abc&X-Amz-Credential=k": "https://bucket.s3.amazonaws.com/ctx.tar.gz",
		"git://github.com/example/app.git#main":                                             "git://github.com/example/app.git#main",
		"s3://bucket/ctx.tar.gz":                                                            "s3://bucket/ctx.tar.gz",
		"git://tok@github.com/x.git":                                                        "git://github.com/x.git",
		"not a url user:pw@host?sig=1":                                                      "host",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHistoryLabels(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	spec := Spec{ContextURL: "https://u:secret@host/ctx.tar.gz?sig=secret", ContextSHA256: "sha256:aa", Labels: map[string]string{"team": "a"}}
	got := HistoryLabels(spec, "1.2.3", now)
	if got[LabelCreated] != "2026-11-26T09:30:00Z" || got[LabelProviderVersion] != "1.2.3" || got[LabelContextSHA256] != "sha256:aa" || got["team"] != "a" {
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

// fakePruner records what History asks of it.
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

func TestHistoryTagsBuildsAndPrunes(t *testing.T) {
	var seen Spec
	next := ExecutorFunc(func(_ context.Context, s Spec) (*Result, error) {
		seen = s
		return &Result{Digest: "sha256:new"}, nil
	})
	p := &fakePruner{}
	h := History{
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

func TestSnapshotContextRecordsWhatWasRead(t *testing.T) {
	src := &buildcontext.Source{Files: map[string]string{"Dockerfile": "FROM scratch\n", "a": "1"}}
	want, err := src.Hash()
	if err != nil {
		t.Fatal(err)
	}
	var snap *buildcontext.Snapshot
	res, err := SnapshotContext{Next: ExecutorFunc(func(_ context.Context, s Spec) (*Result, error) {
		snap = s.Snapshot
		content, err := s.Snapshot.ReadFile("a")
		if err != nil || string(content) != "1" {
			t.Errorf("snapshot file a = %q, %v", content, err)
		}
		return &Result{}, nil
	})}.Build(context.Background(), Spec{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if res.ContextSHA256 != want.SHA256 {
		t.Errorf("recorded hash %s, want %s", res.ContextSHA256, want.SHA256)
	}
	if _, err := snap.Open(); err == nil {
		t.Error("the snapshot was not removed after the build")
	}
}

func TestQueuedReportsTheWait(t *testing.T) {
	q := NewQueue(1)
	release, _, _ := q.Acquire(context.Background(), nil)
	time.AfterFunc(100*time.Millisecond, release)
	res, err := Queued{Queue: q, Next: ExecutorFunc(func(context.Context, Spec) (*Result, error) { return &Result{}, nil })}.Build(context.Background(), Spec{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Timings[PhaseQueued] < 50*time.Millisecond {
		t.Errorf("queued = %v, want about 100ms", res.Timings[PhaseQueued])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	hold, _, _ := q.Acquire(context.Background(), nil)
	defer hold()
	_, err = Queued{Queue: q, Next: ExecutorFunc(func(context.Context, Spec) (*Result, error) { return &Result{}, nil })}.Build(ctx, Spec{})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != ReasonTimeout || !strings.Contains(f.Message, "max_concurrent_builds = 1") {
		t.Fatalf("err = %v, want a timeout naming the queue limit", err)
	}
}
