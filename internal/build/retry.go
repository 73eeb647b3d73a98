package build

import (
	"context"
	"errors"
	"time"
)

// RetryTransient builds again, in a new pod, when a build pod was lost
// before the executor finished (evicted, preempted, its node gone,
// deleted by someone else), or when a registry failed for a moment while
// the executor read the base image or pushed; up to Retries times, a
// registry failure after Backoff. Deterministic failures, such as a
// failing RUN step or a missing base image, are never retried.
type RetryTransient struct {
	Retries int
	// Backoff is the pause before building again after a registry
	// failure (default 10s: long enough for a registry to restart); a lost
	// pod is replaced at once.
	Backoff time.Duration
	Next    Executor
	Log     Logger
}

// Plan forwards.
func (r RetryTransient) Plan(ctx context.Context, spec Spec) (Plan, error) {
	return r.Next.Plan(ctx, spec)
}

// Build runs the next executor until it succeeds, fails for a reason a
// new pod cannot fix, or the retries are used up. When a failed attempt
// had pushed the image (some of its tags) and the last one pushed
// nothing, the result is that attempt's: the provider keeps what is in
// the registry, tainted, instead of forgetting it.
func (r RetryTransient) Build(ctx context.Context, spec Spec) (*Result, error) {
	var warnings []Warning
	var pushed *Result
	for attempt := 0; ; attempt++ {
		res, err := r.Next.Build(ctx, spec)
		res = resultOr(res)
		res.Attempts = attempt + 1
		res.Warnings = append(warnings, res.Warnings...)
		if res.Digest != "" {
			pushed = res
		}
		var f *Failure
		if err == nil || !errors.As(err, &f) || !f.Reason.transient() || attempt >= r.Retries || ctx.Err() != nil {
			if err != nil && res.Digest == "" && pushed != nil {
				pushed.Attempts, pushed.Warnings = res.Attempts, res.Warnings
				return pushed, err
			}
			return res, err
		}
		warnings = res.Warnings
		log := LoggerOr(r.Log)
		if f.Reason.PodLost() {
			log.Step("build pod lost before the executor finished; building again in a new pod",
				"pod", f.Pod, "reason", string(f.Reason), "message", f.Message, "attempt", attempt+2)
			continue
		}
		backoff := r.Backoff
		if backoff <= 0 {
			backoff = 10 * time.Second
		}
		log.Step("a registry failed during the build; building again in a new pod after a pause",
			"pod", f.Pod, "message", f.Message, "pause_seconds", backoff.Seconds(), "attempt", attempt+2)
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(backoff):
		}
	}
}
