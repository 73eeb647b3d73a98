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

// Retention finds a resource's builds by their history tags, one pushed
// with each build (a registry cannot list untagged manifests):
//
//	onesbuild-<key>-<time>         a build of the resource whose key it is
//	onesbuild-orphan-<key>-<time>  the same, released by a destroyed resource
//
// The time sorts lexically in time order, so a key's tags sort by build
// time. The key changes with the resource's tags, which replaces the
// resource; the history of the old key is then released (ReleaseHistory)
// and adopted by the next resource of the repository to prune
// (PruneHistory), so that no build is kept forever for want of an owner.
const (
	historyTagPrefix = "onesbuild-"
	orphanTagPrefix  = historyTagPrefix + "orphan-"
	// historyTimeLayout sorts lexically in time order and is valid in a
	// tag.
	historyTimeLayout = "20060102t150405.000000000z"
	// maxTagLength is the OCI distribution spec's limit.
	maxTagLength = 128
	// maxKeyLength keeps an orphaned history tag within maxTagLength.
	maxKeyLength = maxTagLength - len(orphanTagPrefix) - len("-") - len(historyTimeLayout)
	// adoptionTries bounds how far past its build time an adopted tag
	// moves, a nanosecond at a time, when the adopting key already has a
	// build at that very time.
	adoptionTries = 16
)

// HistoryKey identifies the builds of one resource: its repository and
// tags. Retention deletes builds of its own key only, and of keys
// released to it (see ReleaseHistory).
func HistoryKey(repository string, tags []string) string {
	sum := sha256.Sum256([]byte(repository + "\n" + strings.Join(tags, ",")))
	return hex.EncodeToString(sum[:])[:8]
}

// HistoryTag is the tag pushed with a build made at t.
func HistoryTag(key string, t time.Time) string {
	return historyTag{key: key, at: t.UTC().Format(historyTimeLayout)}.String()
}

// historyTag is a parsed history tag.
type historyTag struct {
	key    string
	at     string // the build time, in historyTimeLayout
	orphan bool
}

func (h historyTag) String() string {
	if h.orphan {
		return orphanTagPrefix + h.key + "-" + h.at
	}
	return historyTagPrefix + h.key + "-" + h.at
}

// parseHistoryTag reads a history tag; ok is false for any other tag.
func parseHistoryTag(tag string) (h historyTag, ok bool) {
	rest, ok := strings.CutPrefix(tag, historyTagPrefix)
	if !ok {
		return h, false
	}
	if r, orphan := strings.CutPrefix(rest, "orphan-"); orphan {
		h.orphan, rest = true, r
	}
	h.key, h.at, ok = strings.Cut(rest, "-")
	if !ok || h.key == "" || strings.Contains(h.at, "-") {
		return h, false
	}
	if _, err := time.Parse(historyTimeLayout, h.at); err != nil {
		return h, false
	}
	return h, true
}

// later is h's time moved n nanoseconds on.
func (h historyTag) later(n int) historyTag {
	t, _ := time.Parse(historyTimeLayout, h.at)
	h.at = t.Add(time.Duration(n)).Format(historyTimeLayout)
	return h
}

// checkKey refuses keys that would make invalid or ambiguous tags.
func checkKey(key string) error {
	if key == "" || len(key) > maxKeyLength || key == "orphan" {
		return fmt.Errorf("history key %q: want 1 to %d characters, not \"orphan\"", key, maxKeyLength)
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return fmt.Errorf("history key %q: want letters, digits, '_' and '.'", key)
		}
	}
	return nil
}

// historyTags returns the history tags of key, newest first.
func historyTags(tags []string, key string) []string {
	var history []string
	for _, t := range tags {
		if h, ok := parseHistoryTag(t); ok && !h.orphan && h.key == key {
			history = append(history, t)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(history)))
	return history
}

// keptHistory splits the history tags of key in snap (tag to digest) by
// image: kept are the newest keep distinct digests, each ordered by its
// newest history tag, so that a build that gives a digest again (a
// taint, or a revert, of a reproducible build) counts once; expired are
// the other history tags of key, newest first: those of older images,
// and the older tags of a kept image, which only lose their tag.
func keptHistory(snap map[string]string, tags []string, key string, keep int) (kept map[string]bool, expired []string) {
	kept = map[string]bool{}
	for _, t := range historyTags(tags, key) {
		if d := snap[t]; !kept[d] && len(kept) < keep {
			kept[d] = true
			continue
		}
		expired = append(expired, t)
	}
	return kept, expired
}

func sortedTags(snap map[string]string) []string {
	tags := make([]string, 0, len(snap))
	for t := range snap {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return tags
}

// released reports whether the keyed history tag h of digest has been
// released: its orphaned twin (same key, time and digest) stands beside
// it, as where the registry could not delete the keyed tag. A released
// tag belongs to nobody until its orphan is adopted.
func released(snap map[string]string, h historyTag, digest string) bool {
	twin := h
	twin.orphan = true
	return !h.orphan && snap[twin.String()] == digest
}

// owned is snap's tags, sorted, without the released history tags.
func owned(snap map[string]string) []string {
	var tags []string
	for _, t := range sortedTags(snap) {
		if h, ok := parseHistoryTag(t); !ok || !released(snap, h, snap[t]) {
			tags = append(tags, t)
		}
	}
	return tags
}

// builds indexes the history tags that belong to a key (keyed, not
// released) by build time and digest, to tell an adopted orphan.
type builds map[[2]string]bool

func keyedBuilds(snap map[string]string) builds {
	b := builds{}
	for tag, d := range snap {
		if h, ok := parseHistoryTag(tag); ok && !h.orphan && !released(snap, h, d) {
			b[[2]string{h.at, d}] = true
		}
	}
	return b
}

// adopted reports whether some key holds the orphaned build h of digest,
// at its time or moved on by adoption.
func (b builds) adopted(h historyTag, digest string) bool {
	for n := range adoptionTries {
		if b[[2]string{h.later(n).at, digest}] {
			return true
		}
	}
	return false
}

// protectedDigests returns the digests of snap (tag to digest) that
// retention of key, keeping the newest keep, must not delete: protect;
// the newest keep distinct digests of key's history (see keptHistory);
// every tag that is not a history tag (a person's "stable", the
// resource's own tags); other keys' history tags; orphaned tags not yet
// adopted. Released history tags protect nothing: their orphans, adopted,
// stand for them.
func protectedDigests(snap map[string]string, key string, keep int, protect []string) map[string]bool {
	protected := map[string]bool{}
	for _, d := range protect {
		protected[d] = true
	}
	kept, _ := keptHistory(snap, owned(snap), key, keep)
	adoptions := keyedBuilds(snap)
	for tag, d := range snap {
		h, ok := parseHistoryTag(tag)
		switch {
		case !ok:
			protected[d] = true
		case h.orphan:
			if !adoptions.adopted(h, d) {
				protected[d] = true
			}
		case released(snap, h, d):
		case h.key != key || kept[d]:
			protected[d] = true
		}
	}
	return protected
}

// deleteTag removes a tag left behind by a deleted manifest, where the
// registry keeps such tags and lets them be deleted.
func (c *Client) deleteTag(ctx context.Context, repository, tag string) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if ref, err := c.reference(ctx, repository, ":"+tag); err == nil {
		_ = remote.Delete(ref, c.options(ctx)...)
	}
}

// ReleaseHistory hands the builds of key over to the next resource of
// the repository that prunes: each history tag of key is re-tagged as an
// orphaned history tag with the same build time, then removed where the
// registry deletes tags. The provider calls it when a resource with
// retention is destroyed, with digest, its image. When a build of key
// newer than digest's newest history tag points at another image, a
// resource with the same repository and tags has built since (a
// create_before_destroy replacement): the history is its own, and
// nothing is released. An empty digest, or one without a history tag of
// key, releases it all. A keyed tag the registry keeps is harmless: with
// its orphaned twin beside it, it protects nothing. A history tag whose
// manifest is gone is only removed. A repository the registry does not
// know has nothing to release.
func (c *Client) ReleaseHistory(ctx context.Context, repository, key, digest string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	snap, err := c.snapshot(ctx, repository)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("releasing the history of %s: %w", repository, err)
	}
	if builtSince(snap, key, digest) {
		return nil
	}
	for _, tag := range historyTags(sortedTags(snap), key) {
		h, _ := parseHistoryTag(tag)
		h.orphan = true
		orphan, d := h.String(), snap[tag]
		if snap[orphan] != d {
			switch err := c.Tag(ctx, repository, d, orphan); {
			case errors.Is(err, ErrNotFound):
				// The build is gone; its tag, where the registry kept
				// it, dangles.
				c.deleteTag(ctx, repository, tag)
				continue
			case err != nil:
				return fmt.Errorf("releasing history tag %s as %s: %w", tag, orphan, err)
			}
		}
		// Where tags cannot be deleted the keyed tag stays, released.
		_ = c.Untag(ctx, repository, tag)
	}
	return nil
}

// builtSince reports whether a history tag of key (not released) newer
// than the newest one of digest points at another image.
func builtSince(snap map[string]string, key, digest string) bool {
	if digest == "" {
		return false
	}
	for i, t := range historyTags(owned(snap), key) {
		if snap[t] == digest {
			return i > 0
		}
	}
	return false
}

// adopt re-tags every orphaned history tag of the repository as a
// history tag of key with the same build time, then removes the orphaned
// tag where the registry deletes tags. An orphan some key already holds
// is only removed, so adopting again, where orphaned tags stay, changes
// nothing. snap is updated to read as the registry now does (with
// dryRun, as it would).
func (c *Client) adopt(ctx context.Context, repository, key string, snap map[string]string, dryRun bool) error {
	adoptions := keyedBuilds(snap)
	for _, tag := range sortedTags(snap) {
		h, ok := parseHistoryTag(tag)
		if !ok || !h.orphan {
			continue
		}
		digest := snap[tag]
		if !adoptions.adopted(h, digest) {
			target, free := "", false
			for n := 0; n < adoptionTries && !free; n++ {
				target = historyTag{key: key, at: h.later(n).at}.String()
				_, taken := snap[target]
				free = !taken
			}
			if !free {
				continue // left orphaned, it keeps protecting its build
			}
			if !dryRun {
				switch err := c.Tag(ctx, repository, digest, target); {
				case errors.Is(err, ErrNotFound):
					// The build is gone (deleted after its release); its
					// tag, where the registry kept it, dangles.
					c.deleteTag(ctx, repository, tag)
					delete(snap, tag)
					continue
				case err != nil:
					return fmt.Errorf("adopting orphaned history tag %s as %s: %w", tag, target, err)
				}
			}
			snap[target] = digest
			adopted, _ := parseHistoryTag(target)
			adoptions[[2]string{adopted.at, digest}] = true
		}
		if !dryRun {
			// Where tags cannot be deleted the orphaned tag stays, adopted.
			if err := c.Untag(ctx, repository, tag); err == nil {
				// Gone from the registry, it is gone from snap: left there,
				// it would make a tag the same key just adopted back (a
				// resource replaced with the same tags) read as released.
				delete(snap, tag)
			}
		}
	}
	return nil
}

// PruneHistory deletes the manifests of the history tags of key beyond
// the newest keep distinct images, after adopting the repository's
// orphaned history (see ReleaseHistory). A manifest is never deleted when
// its digest is in protect (the current build), is one of the newest keep
// digests of key's history (see keptHistory), or is pointed at by any tag other than key's
// history tags (see protectedDigests): a "stable" a person put on an old
// build, the resource's own tags, another resource's builds; nor when an
// index any of those reach lists it. The platform images of a deleted
// index are deleted with it, unless a tag reaches them otherwise. Right
// before each delete the repository's tags are read again, so a tag put on the
// build meanwhile still saves it. An expired history tag whose build is
// kept only loses its tag. Tags without the key are never deleted. With
// dryRun nothing is changed. report is called for each manifest before
// it is deleted.
func (c *Client) PruneHistory(ctx context.Context, repository, key string, keep int, protect []string, dryRun bool, report func(tag, digest string)) error {
	if err := checkKey(key); err != nil {
		return err
	}
	keep = max(keep, 0)
	v, err := c.view(ctx, repository, nil)
	if err != nil {
		return err
	}
	snap := v.tags
	if err := c.adopt(ctx, repository, key, snap, dryRun); err != nil {
		return err
	}
	_, expired := keptHistory(snap, owned(snap), key, keep)
	if len(expired) == 0 {
		return nil
	}
	protected := protectedIn(v, key, keep, protect)
	deleted := map[string]bool{}
	for _, tag := range expired {
		digest := snap[tag]
		if deleted[digest] {
			if !dryRun {
				c.deleteTag(ctx, repository, tag)
			}
			continue
		}
		now := v
		if !protected[digest] && !dryRun {
			fresh, err := c.view(ctx, repository, v.lists)
			if err != nil {
				return fmt.Errorf("reading the tags of %s again before deleting %s: %w", repository, digest, err)
			}
			if fresh.tags[tag] != digest {
				continue // moved or removed meanwhile by someone else
			}
			if protectedIn(fresh, key, keep, protect)[digest] {
				protected[digest] = true
			}
			now = fresh
		}
		if protected[digest] {
			if !dryRun {
				// Still used: only this history tag goes, where tags can
				// be deleted.
				_ = c.Untag(ctx, repository, tag)
			}
			continue
		}
		if report != nil {
			report(tag, digest)
		}
		deleted[digest] = true
		if !dryRun {
			if err := c.Delete(ctx, repository, digest); err != nil {
				return err
			}
			// Registries that keep tags of a deleted manifest would list
			// the history tag forever; remove it where the API allows.
			c.deleteTag(ctx, repository, tag)
		}
		// An index's platform images go with it, unless something else
		// uses them.
		for _, child := range unusedChildren(now, digest, deleted, protect) {
			if report != nil {
				report(tag, child)
			}
			deleted[child] = true
			if dryRun {
				continue
			}
			if err := c.Delete(ctx, repository, child); err != nil {
				return fmt.Errorf("deleting a platform image of the index %s: %w", digest, err)
			}
		}
	}
	return nil
}

// protectedIn is protectedDigests of v's tags together with every
// manifest the protected indexes list: a platform image of a kept index
// is kept with it.
func protectedIn(v repoView, key string, keep int, protect []string) map[string]bool {
	var roots []string
	for d := range protectedDigests(v.tags, key, keep, protect) {
		roots = append(roots, d)
	}
	return v.reachable(roots...)
}

// unusedChildren returns, sorted, the manifests the index digest lists
// (at any depth) that nothing but manifests in gone uses: no tag of v
// that points at a manifest still there reaches them, and neither do
// the digests in keep.
func unusedChildren(v repoView, digest string, gone map[string]bool, keep []string) []string {
	roots := append([]string(nil), keep...)
	for _, d := range v.tags {
		if !gone[d] {
			roots = append(roots, d)
		}
	}
	used := v.reachable(roots...)
	var unused []string
	for child := range v.reachable(digest) {
		if child != digest && !used[child] && !gone[child] {
			unused = append(unused, child)
		}
	}
	sort.Strings(unused)
	return unused
}
