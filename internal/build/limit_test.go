package build

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestQueueLimitsConcurrency(t *testing.T) {
	q := NewQueue(2)
	var running, peak, waits atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, _, err := q.Acquire(context.Background(), func() { waits.Add(1) })
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			running.Add(-1)
		}()
	}
	wg.Wait()
	if peak.Load() != 2 {
		t.Fatalf("peak concurrency = %d, want 2", peak.Load())
	}
	if waits.Load() < 4 {
		t.Fatalf("%d builds reported waiting, want at least 4", waits.Load())
	}
}

func TestQueueWaitEndsWithContext(t *testing.T) {
	q := NewQueue(1)
	release, _, err := q.Acquire(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, waited, err := q.Acquire(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if waited < 40*time.Millisecond {
		t.Fatalf("waited %v", waited)
	}
}

func TestConcurrencyLimitReportsTheWait(t *testing.T) {
	q := NewQueue(1)
	release, _, _ := q.Acquire(context.Background(), nil)
	time.AfterFunc(100*time.Millisecond, release)
	res, err := ConcurrencyLimit{Queue: q, Next: builds(func(context.Context, Spec) (*Result, error) { return &Result{}, nil })}.Build(context.Background(), Spec{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Timings[PhaseQueued] < 50*time.Millisecond {
		t.Errorf("queued = %v, want about 100ms", res.Timings[PhaseQueued])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	hold, _, _ := q.Acquire(context.Background(), nil)
	defer hold()
	_, err = ConcurrencyLimit{Queue: q, Next: builds(func(context.Context, Spec) (*Result, error) { return &Result{}, nil })}.Build(ctx, Spec{})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != ReasonQueueTimeout || !strings.Contains(f.Message, "limit of 1 concurrent builds") {
		t.Fatalf("err = %v, want a timeout naming the queue limit", err)
	}
}
