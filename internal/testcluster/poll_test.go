package testcluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestPollDoneAfterProblems(t *testing.T) {
	calls := 0
	err := poll(context.Background(), time.Millisecond, time.Minute, func(context.Context) (bool, error) {
		calls++
		if calls < 3 {
			return false, fmt.Errorf("attempt %d", calls)
		}
		return true, nil
	}, func(last error) error { return fmt.Errorf("timed out: %w", last) })
	if err != nil || calls != 3 {
		t.Fatalf("err = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestPollTimeoutNamesTheLastProblem(t *testing.T) {
	calls := 0
	err := poll(context.Background(), 5*time.Millisecond, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		calls++
		if ctx.Err() != nil {
			t.Errorf("check was given a context that ended: %v", ctx.Err())
		}
		return false, fmt.Errorf("attempt %d", calls)
	}, func(last error) error { return fmt.Errorf("still wrong: %w", last) })
	if want := fmt.Sprintf("still wrong: attempt %d", calls); err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if calls < 2 {
		t.Errorf("check ran %d times in 50 ms at 5 ms intervals", calls)
	}
}

func TestPollCancelledReturnsTheContextsError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	err := poll(ctx, 5*time.Millisecond, time.Minute, func(context.Context) (bool, error) {
		cancel()
		return false, errors.New("not yet")
	}, func(last error) error { return fmt.Errorf("timed out: %w", last) })
	if !errors.Is(err, context.Canceled) || err.Error() != context.Canceled.Error() {
		t.Fatalf("err = %v, want context.Canceled itself", err)
	}
}
