package feasibility

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// useFreshBase points the context's Dockerfile at a copy of the base
// image under a repository never used before (its layers mounted, not
// copied), so that nothing could have cached it by name.
func (b *bench) useFreshBase(ctx context.Context, dir, nonce string) error {
	if !b.c.hostReachable || !b.studyContext() {
		return nil
	}
	fresh := fmt.Sprintf("%s/%s/base-%x:%s", b.t.ClusterRegistry, repoPrefix, time.Now().UnixNano(), "fresh")
	digest, err := copyImage(ctx, b.c.reg, b.t.BaseImage, fresh)
	if err != nil {
		return fmt.Errorf("copying the base image to a fresh name: %w", err)
	}
	repo, _ := splitRef(fresh)
	b.recordPush(repo, digest)
	df := strings.Replace(b.t.StudyDockerfile, "FROM "+b.t.BaseImage, "FROM "+fresh, 1)
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
}

// clearNodes removes the executor image, the base image and earlier
// builds from every node of the harness's cluster, so that cold runs
// pull everything again. Real clusters are not touched.
func (b *bench) clearNodes(ctx context.Context) error {
	if b.t.Harness == nil {
		return nil
	}
	baseRepo, _ := splitRef(b.t.BaseImage)
	kanikoRepo, _ := splitRef(b.t.KanikoImage)
	for _, n := range b.r.Environment.NodeList {
		list, err := b.t.Harness.Exec(ctx, n.Name, "ctr", "-n", "k8s.io", "images", "ls")
		if err != nil {
			return fmt.Errorf("listing the images of node %s: %w", n.Name, err)
		}
		type row struct{ ref, digest string }
		var rows []row
		targets := map[string]bool{}
		for _, line := range strings.Split(string(list), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			rows = append(rows, row{f[0], f[2]})
			for _, want := range []string{kanikoRepo[strings.Index(kanikoRepo, "/"):], "/" + repoPrefix + "/", baseRepo[strings.Index(baseRepo, "/"):]} {
				if strings.Contains(f[0], want) {
					targets[f[2]] = true
				}
			}
		}
		var remove []string
		for _, r := range rows {
			if targets[r.digest] {
				remove = append(remove, r.ref)
			}
		}
		if len(remove) == 0 {
			continue
		}
		if out, err := b.t.Harness.Exec(ctx, n.Name, append([]string{"ctr", "-n", "k8s.io", "images", "rm", "--sync"}, remove...)...); err != nil {
			return fmt.Errorf("removing images from node %s: %v: %s", n.Name, err, out)
		}
	}
	return nil
}

// copyImage writes the image src under dst (both as pods name them) and
// returns its digest; in one registry the layers are mounted.
func copyImage(ctx context.Context, reg *registry.Client, src, dst string) (string, error) {
	srcRef, err := reg.Reference(ctx, src)
	if err != nil {
		return "", err
	}
	dstRef, err := reg.Reference(ctx, dst)
	if err != nil {
		return "", err
	}
	img, err := remote.Image(srcRef, reg.RemoteOptions(ctx)...)
	if err != nil {
		return "", err
	}
	if err := remote.Write(dstRef, img, reg.RemoteOptions(ctx)...); err != nil {
		return "", err
	}
	d, err := img.Digest()
	return d.String(), err
}
