package build

import (
	"context"
	"errors"
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
