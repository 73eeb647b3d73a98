package build

import (
	"context"
	"strconv"
	"time"
)

// ConcurrencyLimit runs builds through a Queue: at most the queue's limit run at
// once, the rest wait in arrival order. The wait is reported as
// PhaseQueued and counts against the caller's context deadline.
type ConcurrencyLimit struct {
	Queue *Queue
	Next  Executor
	Log   Logger
}

// Plan forwards: planning takes no slot.
func (q ConcurrencyLimit) Plan(ctx context.Context, spec Spec) (Plan, error) {
	return q.Next.Plan(ctx, spec)
}

// Build waits for a slot, then runs the next executor.
func (q ConcurrencyLimit) Build(ctx context.Context, spec Spec) (*Result, error) {
	log := LoggerOr(q.Log)
	release, waited, err := q.Queue.Acquire(ctx, func() {
		log.Step("build queued: every build slot is busy", "limit", q.Queue.Limit(), "repository", spec.Repository)
	})
	defer release()
	if err != nil {
		res := NewResult("")
		res.Timings[PhaseQueued] += waited
		return res, &Failure{
			Reason:  ReasonQueueTimeout,
			Message: "the limit of " + strconv.Itoa(q.Queue.Limit()) + " concurrent builds was reached and no slot became free within " + waited.Round(time.Second).String(),
			Err:     err,
		}
	}
	if waited > 0 {
		log.Step("build slot acquired", "queued_seconds", waited.Seconds())
	}
	res, err := q.Next.Build(ctx, spec)
	res = resultOr(res)
	res.Timings[PhaseQueued] += waited
	return res, err
}

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
