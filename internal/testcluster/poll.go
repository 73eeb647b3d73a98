package testcluster

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// poll runs check at once, then every interval, until it reports done.
// check also returns the problem it saw, if any; when timeout passes
// first, poll returns timedOut applied to the last problem seen, so that
// the error says what was still wrong. When ctx ends first, poll returns
// ctx.Err().
//
// check is given ctx itself, not the poll's deadline, as the loops it
// replaces were: a request in flight when the time is up ends with its
// own answer, which is then the last problem, rather than with "context
// deadline exceeded".
func poll(ctx context.Context, interval, timeout time.Duration, check func(context.Context) (done bool, problem error), timedOut func(last error) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(context.Context) (bool, error) {
		done, problem := check(ctx)
		last = problem
		return done, nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return timedOut(last)
}
