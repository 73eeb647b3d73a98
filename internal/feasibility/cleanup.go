package feasibility

import (
	"context"
	"errors"
	"strings"
)

// cleanup deletes what the run created and left: the fresh base copies
// always, every pushed image with Options.Cleanup.
func (b *bench) cleanup(ctx context.Context) {
	if !b.c.hostReachable {
		return
	}
	for repo, digests := range b.pushed {
		if !b.o.Cleanup && !b.isFreshBase(repo) {
			continue
		}
		for _, d := range digests {
			if err := b.c.reg.Delete(ctx, repo, d); err != nil && !errors.Is(err, context.Canceled) {
				b.logf("cleanup: %s@%s: %v", repo, d, err)
			}
		}
	}
	if b.o.Cleanup {
		b.logf("cleanup: deleted the images of %d repositories", len(b.pushed))
	}
}

// isFreshBase tells the base image copies of cold runs, which are
// deleted after the run, from the images the run built.
func (b *bench) isFreshBase(repo string) bool {
	return strings.Contains(repo, "/"+repoPrefix+"/base-")
}
