package registry

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestBaseMoved(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	base := clusterRegistry + "/base:1"

	first := push(t, host, "base:1", nil)
	if now, err := c.BaseMoved(ctx, base, first.String(), ""); err != nil || now.Moved || now.Digest != first.String() {
		t.Fatalf("the recorded image itself: %+v, %v", now, err)
	}
	second := push(t, host, "base:1", nil)
	if now, err := c.BaseMoved(ctx, base, first.String(), ""); err != nil || !now.Moved || now.Digest != second.String() {
		t.Fatalf("a new image under the tag: %+v, %v; want moved to %s", now, err, second)
	}

	// An index: the recorded image among its children has not moved (an
	// index that gained a platform); a new child for the build's
	// platform has, and is the new digest.
	amd, _ := random.Image(512, 1)
	arm, _ := random.Image(512, 1)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref, _ := name.ParseReference(host+"/base:1", name.Insecure)
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	amdDigest, _ := amd.Digest()
	if now, err := c.BaseMoved(ctx, base, amdDigest.String(), "linux/amd64"); err != nil || now.Moved {
		t.Fatalf("the recorded image is a child of the index now: %+v, %v", now, err)
	}
	if now, err := c.BaseMoved(ctx, base, first.String(), "linux/arm64"); err != nil || !now.Moved {
		t.Fatalf("an index without the recorded image: %+v, %v", now, err)
	} else if armDigest, _ := arm.Digest(); now.Digest != armDigest.String() {
		t.Errorf("new digest %s, want the arm64 child %s", now.Digest, armDigest)
	}
	if _, err := c.BaseMoved(ctx, clusterRegistry+"/missing:1", first.String(), ""); err == nil {
		t.Error("a missing base resolved")
	}
}
