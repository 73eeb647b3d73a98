package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Ownership is what of an image belongs to one resource alone: the tags
// it pushed, its history key, and whether another resource pushed the
// same digest in this run (a replacement that gave the same digest),
// with which tags.
type Ownership struct {
	Tags         []string
	HistoryKey   string
	PushedByPeer bool
	PeerTags     []string
}

// split sorts the tags of snap (tag to digest) that use digest: the
// owner's tags that point at it (its tags, the history tags of its key,
// released ones included: the owner released them, and nobody has
// adopted them yet), and all others, wherever they point. A released
// history tag and an adopted orphan stand for nothing (the orphan, the
// adopter's tag, uses the image in their place) and are left out.
func (own Ownership) split(snap map[string]string, digest string) (others, ownPointing []string) {
	mine := map[string]bool{}
	for _, t := range own.Tags {
		mine[t] = true
	}
	adoptions := keyedBuilds(snap)
	for t, d := range snap {
		h, history := parseHistoryTag(t)
		switch {
		case d == digest && (mine[t] || history && own.HistoryKey != "" && h.key == own.HistoryKey):
			ownPointing = append(ownPointing, t)
		case history && (released(snap, h, d) || h.orphan && adoptions.adopted(h, d)):
		default:
			others = append(others, t)
		}
	}
	sort.Strings(others)
	sort.Strings(ownPointing)
	return others, ownPointing
}

// Deletion says what DeleteOwned did.
type Deletion struct {
	// Deleted is true when the manifest was deleted.
	Deleted bool
	// Untagged are the owner's tags removed instead; Left those the
	// registry would not remove.
	Untagged, Left []string
	// KeptBecause says why the manifest was kept, when it was.
	KeptBecause string
	// Children are the manifests a deleted index listed that were
	// deleted with it (its platform images); KeptChildren those kept
	// because something else uses them, each with why.
	Children     []string
	KeptChildren []KeptChild
}

// KeptChild is a manifest of a deleted index that another tag, or
// another index, still uses.
type KeptChild struct {
	Digest, Because string
}

// DeleteOwned deletes repository@digest when nothing but its owner uses
// it: no tag but the owner's (its tags, its history tags, also those it
// released to be adopted) points at it,
// and no index such a tag points at lists it. When the manifest is an
// index, the manifests it lists go with it, except those another tag
// reaches. When something else uses the manifest, the owner's own tags
// are removed and the manifest stays. When another resource pushed the
// same digest in this run (a create_before_destroy replacement that gave
// the same image), the manifest stays, and only the owner's tags that
// the peer did not push (a tag the replacement dropped) are removed;
// history tags are left to ReleaseHistory.
func (c *Client) DeleteOwned(ctx context.Context, repository, digest string, own Ownership) (Deletion, error) {
	v, err := c.view(ctx, repository, nil)
	if errors.Is(err, ErrNotFound) {
		return Deletion{}, nil // the repository is gone, and the image with it
	}
	if err != nil {
		return Deletion{}, fmt.Errorf("reading the tags that use %s: %w", digest, err)
	}
	if own.PushedByPeer {
		peer := map[string]bool{}
		for _, t := range own.PeerTags {
			peer[t] = true
		}
		var dropped []string
		for _, t := range own.Tags {
			if v.tags[t] == digest && !peer[t] {
				dropped = append(dropped, t)
			}
		}
		sort.Strings(dropped)
		d := Deletion{KeptBecause: "another resource pushed the same image in this run (a replacement with the same digest)"}
		err := c.untagOwn(ctx, repository, dropped, &d)
		return d, err
	}
	others, ownPointing := own.split(v.tags, digest)
	direct, through := v.uses(digest, others)
	if len(direct) == 0 && len(through) == 0 {
		return c.deleteWithChildren(ctx, repository, digest, v, ownPointing)
	}
	var why []string
	if len(direct) > 0 {
		why = append(why, "other tags point at it: "+strings.Join(direct, ", "))
	}
	if len(through) > 0 {
		why = append(why, "it is listed by the index that these tags point at: "+strings.Join(through, ", "))
	}
	d := Deletion{KeptBecause: strings.Join(why, "; ")}
	err = c.untagOwn(ctx, repository, ownPointing, &d)
	return d, err
}

// untagOwn removes tags, recording in d which went (Untagged) and which
// the registry would not remove (Left).
func (c *Client) untagOwn(ctx context.Context, repository string, tags []string, d *Deletion) error {
	for _, t := range tags {
		switch err := c.Untag(ctx, repository, t); {
		case err == nil:
			d.Untagged = append(d.Untagged, t)
		case errors.Is(err, ErrTagDeleteUnsupported):
			d.Left = append(d.Left, t)
		default:
			return fmt.Errorf("removing tag %s: %w", t, err)
		}
	}
	return nil
}

// deleteWithChildren deletes repository@digest, which nothing but the
// owner's tags (ownPointing) uses, then the manifests it lists that no
// other tag of v reaches. The index goes first: a failure leaves unused
// platform images behind, never an index with missing images.
func (c *Client) deleteWithChildren(ctx context.Context, repository, digest string, v repoView, ownPointing []string) (Deletion, error) {
	if err := c.Delete(ctx, repository, digest); err != nil {
		return Deletion{}, err
	}
	d := Deletion{Deleted: true}
	// Registries that keep the tags of a deleted manifest would list
	// them, dangling, forever; remove them where the API allows.
	for _, t := range ownPointing {
		c.deleteTag(ctx, repository, t)
	}
	gone := map[string]bool{digest: true}
	unused := unusedChildren(v, digest, gone, nil)
	for _, child := range unused {
		gone[child] = true
	}
	for child := range v.reachable(digest) {
		if child == digest || gone[child] {
			continue
		}
		var users []string
		for t, td := range v.tags {
			if !gone[td] && v.reachable(td)[child] {
				users = append(users, t)
			}
		}
		sort.Strings(users)
		d.KeptChildren = append(d.KeptChildren, KeptChild{Digest: child, Because: "still used by the tags " + strings.Join(users, ", ")})
	}
	sort.Slice(d.KeptChildren, func(i, j int) bool { return d.KeptChildren[i].Digest < d.KeptChildren[j].Digest })
	for _, child := range unused {
		if err := c.Delete(ctx, repository, child); err != nil {
			return d, fmt.Errorf("deleting %s, an image the deleted index %s listed: %w", child, digest, err)
		}
		d.Children = append(d.Children, child)
	}
	return d, nil
}
