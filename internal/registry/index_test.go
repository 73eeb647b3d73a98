package registry

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestPushIndex(t *testing.T) {
	c, host := testRegistry(t)
	ctx := context.Background()
	repo := clusterRegistry + "/app"
	amd := push(t, host, "app:tmp-amd64", nil).String()
	arm := push(t, host, "app:tmp-arm64", nil).String()
	images := map[string]string{"linux/arm64": arm, "linux/amd64": amd}
	d, tags, err := c.PushIndex(ctx, repo, images, []string{"latest", "v1"})
	if err != nil || len(tags) != 2 {
		t.Fatalf("PushIndex: %v, %v", tags, err)
	}
	again, _, err := c.PushIndex(ctx, repo, images, []string{"latest"})
	if err != nil || again != d {
		t.Errorf("the same images gave another index: %s vs %s (%v)", again, d, err)
	}
	ref, _ := name.ParseReference(host+"/app:v1", name.Insecure)
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != types.OCIImageIndex || desc.Digest.String() != d {
		t.Fatalf("v1 is %s %s", desc.MediaType, desc.Digest)
	}
	idx, _ := desc.ImageIndex()
	m, _ := idx.IndexManifest()
	if len(m.Manifests) != 2 || m.Manifests[0].Platform.Architecture != "amd64" || m.Manifests[0].Digest.String() != amd || m.Manifests[1].Digest.String() != arm {
		t.Errorf("index manifests = %+v", m.Manifests)
	}
}
