package registry

import (
	"context"
	"testing"
)

// TestDeleteAttachmentsKeepsForeignReferrers deletes this owner's
// attachments of two images on a registry without the referrers API:
// the image with only ours loses its fallback tag, the one with another
// tool's attachment keeps it, listing that one alone.
func TestDeleteAttachmentsKeepsForeignReferrers(t *testing.T) {
	ctx := context.Background()
	c, host := testRegistry(t)
	repo := clusterRegistry + "/app"
	lone := push(t, host, "app:lone", nil).String()
	shared := push(t, host, "app:shared", nil).String()
	attach := func(subject, content string) Attachment {
		d, err := c.Attach(ctx, repo, subject, Artifact{ArtifactType: "application/spdx+json", Content: []byte(content)})
		if err != nil {
			t.Fatal(err)
		}
		return Attachment{Subject: subject, Digest: d, Kind: "sbom"}
	}
	ours := []Attachment{attach(lone, `{"a":1}`), attach(lone, `{"a":2}`), attach(shared, `{"b":1}`)}
	foreign := attach(shared, `{"someone":"else"}`)
	if err := c.DeleteAttachments(ctx, repo, ours); err != nil {
		t.Fatal(err)
	}
	for _, a := range ours {
		if ok, err := c.Exists(ctx, repo, a.Digest); err != nil || ok {
			t.Errorf("attachment %s still there (%v)", a.Digest, err)
		}
	}
	if _, err := c.ResolveTag(ctx, repo, "sha256-"+lone[len("sha256:"):]); err == nil {
		t.Error("the fallback tag of an image with only our attachments was kept")
	}
	if ok, _ := c.Exists(ctx, repo, foreign.Digest); !ok {
		t.Error("another tool's attachment was deleted")
	}
	refs, err := c.Referrers(ctx, repo, shared)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range refs {
		found = found || r.Digest == foreign.Digest
	}
	if !found {
		t.Errorf("the fallback tag no longer lists another tool's attachment: %v", refs)
	}
	// Deleting again is no error: what is gone is gone.
	if err := c.DeleteAttachments(ctx, repo, ours[:1]); err != nil {
		t.Fatal(err)
	}
}
