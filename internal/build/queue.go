package build

import (
	"context"
	"time"
)

// Queue limits how many builds run at once. Builds beyond the limit wait
// in arrival order for a free slot.
type Queue struct {
	slots chan struct{}
}

// NewQueue returns a queue that lets limit builds run at once (at least 1).
func NewQueue(limit int) *Queue {
	if limit < 1 {
		limit = 1
	}
	return &Queue{slots: make(chan struct{}, limit)}
}

// Limit is the number of builds that may run at once.
func (q *Queue) Limit() int { return cap(q.slots) }

// Acquire waits for a slot. onWait is called once, before waiting, when
// no slot is free. It returns a function that frees the slot and how
// long the caller waited; the wait ends early with ctx's error.
func (q *Queue) Acquire(ctx context.Context, onWait func()) (release func(), waited time.Duration, err error) {
	select {
	case q.slots <- struct{}{}:
		return q.release, 0, nil
	default:
	}
	if onWait != nil {
		onWait()
	}
	start := time.Now()
	select {
	case q.slots <- struct{}{}:
		return q.release, time.Since(start), nil
	case <-ctx.Done():
		return func() {}, time.Since(start), ctx.Err()
	}
}

func (q *Queue) release() { <-q.slots }
