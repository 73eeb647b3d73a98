package registry

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

// TestArtifactDigestIsWhatAttachWrites predicts attachments' digests
// before they are pushed, with the subject read from the registry and
// with the caller's descriptor, and finds each under that digest,
// naming its subject; a descriptor of another manifest is refused.
func TestArtifactDigestIsWhatAttachWrites(t *testing.T) {
	ctx := context.Background()
	c, host := testRegistry(t)
	repo := clusterRegistry + "/app"
	subject := push(t, host, "app:one", nil)
	other := push(t, host, "app:two", nil)
	ref, err := name.ParseReference(host+"/app@"+subject.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	head, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	read := Artifact{ArtifactType: "application/spdx+json", Content: []byte(`{"read":true}`)}
	given := Artifact{ArtifactType: "application/vnd.in-toto+json", Content: []byte(`{"given":true}`), Annotations: map[string]string{"k": "v"}, SubjectDescriptor: head}
	for _, a := range []Artifact{read, given} {
		want, err := ArtifactDigest(*head, a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Attach(ctx, repo, subject.String(), a)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: attached as %s, predicted %s", a.ArtifactType, got, want)
		}
		found := false
		refs, err := c.Referrers(ctx, repo, subject.String())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			found = found || r.Digest == want
		}
		if !found {
			t.Errorf("%s: %s is not among the subject's referrers %v", a.ArtifactType, want, refs)
		}
	}
	wrong := given
	wrong.Content = []byte(`{"wrong":true}`)
	if _, err := c.Attach(ctx, repo, other.String(), wrong); err == nil {
		t.Error("attaching to one image with another's descriptor succeeded")
	}
	if refs, _ := c.Referrers(ctx, repo, other.String()); len(refs) != 0 {
		t.Errorf("a refused attachment was written: %v", refs)
	}
}
