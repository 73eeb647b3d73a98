package registry

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestExpiredHistoryTags(t *testing.T) {
	key := "abcd1234"
	tags := []string{
		"latest",
		"onesbuild-abcd1234-20261126t090000.000000000z",
		"onesbuild-abcd1234-20261126t100000.000000000z",
		"onesbuild-abcd1234-20261125t230000.000000000z",
		"onesbuild-ffff0000-20261101t000000.000000000z", // another resource
		"onesbuild-abcd1234-garbage",
	}
	got := expiredHistoryTags(tags, key, 1)
	want := []string{"onesbuild-abcd1234-20261126t090000.000000000z", "onesbuild-abcd1234-20261125t230000.000000000z"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("expired = %v, want %v", got, want)
	}
	if got := expiredHistoryTags(tags, key, 3); got != nil {
		t.Fatalf("keep 3 of 3 expired %v", got)
	}
	if HistoryTag(key, time.Date(2026, 11, 26, 9, 1, 2, 7, time.UTC)) != "onesbuild-abcd1234-20261126t090102.000000007z" {
		t.Fatal("history tag format changed")
	}
	if HistoryKey("r", []string{"a"}) == HistoryKey("r", []string{"b"}) {
		t.Fatal("different tags share a history key")
	}
}

type prunedEntry struct{ tag, digest string }

func TestPruneHistory(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})
	var digests []string
	for i, at := range []string{"20261126t070000.000000000z", "20261126t080000.000000000z", "20261126t090000.000000000z", "20261126t100000.000000000z"} {
		d := push(t, host, "app:onesbuild-"+key+"-"+at, nil)
		digests = append(digests, d.String())
		if i == 3 {
			push(t, host, "app:latest", nil) // a different image holds latest
		}
	}
	other := push(t, host, "app:release", nil)
	// A person tagged the second-oldest build "stable".
	if err := c.Tag(ctx, repo, digests[1], "stable"); err != nil {
		t.Fatal(err)
	}

	var reported []prunedEntry
	record := func(tag, digest string) { reported = append(reported, prunedEntry{tag, digest}) }
	if err := c.PruneHistory(ctx, repo, key, 1, nil, true, record); err != nil || len(reported) != 2 {
		t.Fatalf("dry run: %v, reported %v; want the two unreferenced old builds", err, reported)
	}
	if _, err := c.Describe(ctx, repo, digests[0]); err != nil {
		t.Fatal("a dry run deleted a manifest")
	}
	reported = nil
	if err := c.PruneHistory(ctx, repo, key, 1, []string{digests[0]}, false, record); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 1 || reported[0].digest != digests[2] {
		t.Fatalf("pruned = %v, want only %s (the oldest is protected, the second is tagged stable)", reported, digests[2])
	}
	if _, err := c.Describe(ctx, repo, digests[2]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned manifest still there: %v", err)
	}
	for _, d := range []string{digests[0], digests[1], digests[3], other.String()} {
		if _, err := c.Describe(ctx, repo, d); err != nil {
			t.Fatalf("retention deleted %s, which it must keep: %v", d, err)
		}
	}
	if got, err := c.ResolveTag(ctx, repo, "stable"); err != nil || got != digests[1] {
		t.Fatalf("stable = %s, %v; want it to still resolve to %s", got, err, digests[1])
	}
}
