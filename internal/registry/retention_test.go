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

func TestPruneHistory(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	key := HistoryKey(repo, []string{"latest"})
	var digests []string
	for i, at := range []string{"20261126t080000.000000000z", "20261126t090000.000000000z", "20261126t100000.000000000z"} {
		d := push(t, host, "app:onesbuild-"+key+"-"+at, nil)
		digests = append(digests, d.String())
		if i == 2 {
			push(t, host, "app:latest", nil) // a different image holds latest
		}
	}
	other := push(t, host, "app:release", nil)

	var reported []Pruned
	dry, err := c.PruneHistory(ctx, repo, key, 1, nil, true, func(p Pruned) { reported = append(reported, p) })
	if err != nil || len(dry) != 2 || len(reported) != 2 {
		t.Fatalf("dry run = %v, %v (reported %v)", dry, err, reported)
	}
	if _, err := c.Describe(ctx, repo, digests[0]); err != nil {
		t.Fatal("a dry run deleted a manifest")
	}
	pruned, err := c.PruneHistory(ctx, repo, key, 1, []string{digests[0]}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pruned) != 1 || pruned[0].Digest != digests[1] {
		t.Fatalf("pruned = %v, want only %s (the oldest is protected)", pruned, digests[1])
	}
	if _, err := c.Describe(ctx, repo, digests[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned manifest still there: %v", err)
	}
	for _, d := range []string{digests[0], digests[2], other.String()} {
		if _, err := c.Describe(ctx, repo, d); err != nil {
			t.Fatalf("retention deleted %s, which it must keep: %v", d, err)
		}
	}
}
