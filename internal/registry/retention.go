package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// historyTagPrefix starts every history tag; one is pushed with each build
// when retention is on, so that older builds can be found (a registry
// cannot list untagged manifests).
const historyTagPrefix = "onesbuild-"

// historyTimeLayout sorts lexically in time order and is a valid tag.
const historyTimeLayout = "20060102t150405.000000000z"

// HistoryKey identifies the builds of one resource: its repository and
// tags. Retention only ever considers tags with its own key.
func HistoryKey(repository string, tags []string) string {
	sum := sha256.Sum256([]byte(repository + "\n" + strings.Join(tags, ",")))
	return hex.EncodeToString(sum[:])[:8]
}

// HistoryTag is the tag pushed with a build made at t.
func HistoryTag(key string, t time.Time) string {
	return historyTagPrefix + key + "-" + t.UTC().Format(historyTimeLayout)
}

// ListTags lists the repository's tags.
func (c *Client) ListTags(ctx context.Context, repository string) ([]string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ref, err := c.reference(ctx, repository, ":latest")
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(ref.Context(), c.options(ctx)...)
	if err != nil {
		return nil, classify(err, "listing tags of "+ref.Context().String())
	}
	return tags, nil
}

// historyTags returns the history tags of key, newest first.
func historyTags(tags []string, key string) []string {
	prefix := historyTagPrefix + key + "-"
	var history []string
	for _, t := range tags {
		if strings.HasPrefix(t, prefix) {
			if _, err := time.Parse(historyTimeLayout, strings.TrimPrefix(t, prefix)); err == nil {
				history = append(history, t)
			}
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(history)))
	return history
}

// expiredHistoryTags returns the history tags of key beyond the newest
// keep, oldest last.
func expiredHistoryTags(tags []string, key string, keep int) []string {
	history := historyTags(tags, key)
	if len(history) <= keep {
		return nil
	}
	return history[keep:]
}

// deleteTag removes a tag reference; registries that already dropped it
// with its manifest, or that cannot delete tags, are fine.
func (c *Client) deleteTag(ctx context.Context, repository, tag string) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if ref, err := c.reference(ctx, repository, ":"+tag); err == nil {
		_ = remote.Delete(ref, c.options(ctx)...)
	}
}

// PruneHistory deletes the manifests of the history tags of key beyond
// the newest keep. A manifest is never deleted when its digest is in
// protect (the current build) or when any tag other than key's history
// tags points at it: a "stable" a person put on an old build, the
// resource's own tags, another resource's builds. Tags without the key
// are never deleted. With dryRun nothing is deleted. report is called
// for each manifest before it is deleted.
func (c *Client) PruneHistory(ctx context.Context, repository, key string, keep int, protect []string, dryRun bool, report func(tag, digest string)) error {
	tags, err := c.ListTags(ctx, repository)
	if err != nil {
		return err
	}
	expired := expiredHistoryTags(tags, key, keep)
	if len(expired) == 0 {
		return nil
	}
	protected := map[string]bool{}
	for _, d := range protect {
		protected[d] = true
	}
	own := map[string]bool{}
	for _, t := range historyTags(tags, key) {
		own[t] = true
	}
	for _, tag := range tags {
		if own[tag] {
			continue
		}
		digest, err := c.ResolveTag(ctx, repository, tag)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("resolving tag %s before pruning: %w", tag, err)
		}
		protected[digest] = true
	}
	for _, tag := range expired {
		digest, err := c.ResolveTag(ctx, repository, tag)
		if errors.Is(err, ErrNotFound) {
			continue // listed but gone: deleted by someone else meanwhile
		}
		if err != nil {
			return fmt.Errorf("resolving history tag %s: %w", tag, err)
		}
		if protected[digest] {
			// Still referenced: only this resource's history tag goes.
			if !dryRun {
				c.deleteTag(ctx, repository, tag)
			}
			continue
		}
		if report != nil {
			report(tag, digest)
		}
		if !dryRun {
			if err := c.Delete(ctx, repository, digest); err != nil {
				return err
			}
			// Registries that keep tags of a deleted manifest would list
			// the history tag forever; remove it where the API allows.
			c.deleteTag(ctx, repository, tag)
		}
		protected[digest] = true // deleted once is enough
	}
	return nil
}
