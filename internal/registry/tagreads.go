package registry

import (
	"context"
	"fmt"
	"maps"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Deciding whether an image is still in use reads every tag of its
// repository. A hundred resources destroyed in one apply each asked for
// all hundred tags: ten thousand requests, five seconds of the apply.
// Reads of one repository's tags are therefore shared, and only in the
// way that keeps each caller's answer fresh: a caller joins the read that
// has not started yet, never one already under way, so what it gets was
// read after it asked. While one read runs, everyone who arrives waits
// for the next, which serves them all.

// tagReads coalesces describeTags per repository.
type tagReads struct {
	mu    sync.Mutex
	repos map[string]*repoTagReads
}

// repoTagReads is one repository's queue: whether a read is running, and
// the read everyone arriving meanwhile waits for.
type repoTagReads struct {
	running bool
	next    *tagRead
}

// tagRead is one read of a repository's tags, shared by those who joined
// it before it started.
type tagRead struct {
	done  chan struct{}
	descs map[string]v1.Descriptor
	err   error
	// joined counts the callers that joined it and waiting those still
	// waiting, under tagReads.mu; cancel stops it once it runs, when the
	// last one gives up (a read nobody waits for must not hold the queue,
	// or a port-forward, for its whole timeout).
	joined, waiting int
	cancel          context.CancelFunc
}

// join returns the read the caller waits for, and whether the caller
// must start it (no read of the repository is running).
func (q *tagReads) join(repository string) (r *tagRead, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.repos == nil {
		q.repos = map[string]*repoTagReads{}
	}
	s := q.repos[repository]
	if s == nil {
		s = &repoTagReads{}
		q.repos[repository] = s
	}
	if s.next == nil {
		s.next = &tagRead{done: make(chan struct{})}
	}
	r = s.next
	r.joined++
	r.waiting++
	if s.running {
		return r, false
	}
	s.running, s.next = true, nil
	return r, true
}

// finished is called when a read is done: it returns the read that
// waited for it, now started, or nil when nobody waits.
func (q *tagReads) finished(repository string) *tagRead {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.repos[repository]
	r := s.next
	if r == nil {
		delete(q.repos, repository)
		return nil
	}
	s.next = nil
	return r
}

// leave is called by a caller that gives up on r.
func (q *tagReads) leave(r *tagRead) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r.waiting--
	if r.waiting == 0 && r.cancel != nil {
		r.cancel()
	}
}

// begin starts r with a context of its own, or says that nobody waits
// for it any more.
func (q *tagReads) begin(base context.Context, r *tagRead) (context.Context, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if r.waiting == 0 {
		return nil, false
	}
	ctx, cancel := context.WithCancel(base)
	r.cancel = cancel
	return ctx, true
}

// tagReadQueue is the client's queue. Copies made by WithKeychain get
// their own, so that no caller receives what another's credentials read.
func (c *Client) tagReadQueue() *tagReads {
	sharedInit.Lock()
	defer sharedInit.Unlock()
	if c.reads == nil {
		c.reads = &tagReads{}
	}
	return c.reads
}

// describeTags lists the repository's tags and resolves each: tag to the
// descriptor of what it points at, as the registry had them at some
// moment after the call (see tagReads). The map is the caller's own.
func (c *Client) describeTags(ctx context.Context, repository string) (map[string]v1.Descriptor, error) {
	q := c.tagReadQueue()
	r, start := q.join(repository)
	if start {
		// The read outlives a caller that gives up: others wait for it.
		go c.runTagReads(context.WithoutCancel(ctx), q, repository, r)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		q.leave(r)
		return nil, fmt.Errorf("reading the tags of %s: %w", repository, ctx.Err())
	}
	if r.err != nil {
		return nil, r.err
	}
	return maps.Clone(r.descs), nil
}

// runTagReads performs r, then each read that waited for the one before.
func (c *Client) runTagReads(ctx context.Context, q *tagReads, repository string, r *tagRead) {
	for r != nil {
		if readCtx, ok := q.begin(ctx, r); ok {
			r.descs, r.err = c.readTags(readCtx, repository)
			r.cancel()
		} else {
			r.err = context.Canceled
		}
		close(r.done)
		r = q.finished(repository)
	}
}

// readTags lists the repository's tags and resolves each.
func (c *Client) readTags(ctx context.Context, repository string) (map[string]v1.Descriptor, error) {
	tags, err := c.ListTags(ctx, repository)
	if err != nil {
		return nil, err
	}
	return c.resolveTags(ctx, repository, tags)
}
