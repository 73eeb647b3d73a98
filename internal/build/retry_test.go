package build

import (
	"context"
	"testing"
	"time"
)

func TestRetryTransient(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failures []FailureReason // one per attempt; "" succeeds
		want     int             // attempts
		wantErr  bool
	}{
		{name: "success", failures: []FailureReason{""}, want: 1},
		{name: "a deleted pod is rebuilt", failures: []FailureReason{ReasonPodDeleted, ""}, want: 2},
		{name: "a failed pod is rebuilt", failures: []FailureReason{ReasonPodFailed, ""}, want: 2},
		{name: "only once", failures: []FailureReason{ReasonPodDeleted, ReasonPodDeleted, ""}, want: 2, wantErr: true},
		{name: "a failing executor is not retried", failures: []FailureReason{ReasonExecutorFailed, ""}, want: 1, wantErr: true},
		{name: "a registry failing for a moment is retried", failures: []FailureReason{ReasonRegistryTransient, ""}, want: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			inner := builds(func(context.Context, Spec) (*Result, error) {
				reason := tt.failures[n]
				n++
				res := &Result{Warnings: []Warning{{Kind: WarningCleanup, Message: "attempt"}}}
				if reason == "" {
					return res, nil
				}
				return res, &Failure{Reason: reason}
			})
			res, err := RetryTransient{Retries: 1, Backoff: time.Millisecond, Next: inner}.Build(context.Background(), Spec{})
			if (err != nil) != tt.wantErr || res.Attempts != tt.want || n != tt.want {
				t.Fatalf("attempts %d (ran %d), err %v; want %d attempts, error %v", res.Attempts, n, err, tt.want, tt.wantErr)
			}
			if len(res.Warnings) != tt.want {
				t.Errorf("warnings of every attempt are kept: got %d, want %d", len(res.Warnings), tt.want)
			}
		})
	}
}

// An attempt that pushed some tags and then failed for a moment is
// retried; when the retry pushes nothing, the result still names what
// the first attempt left in the registry, so the provider saves it
// tainted instead of forgetting it.
func TestRetryTransientKeepsWhatAnAttemptPushed(t *testing.T) {
	n := 0
	inner := builds(func(context.Context, Spec) (*Result, error) {
		n++
		if n == 1 {
			return &Result{Digest: "sha256:first", Tags: []string{"latest"}}, &Failure{Reason: ReasonRegistryTransient}
		}
		return &Result{}, &Failure{Reason: ReasonRegistryTransient, Message: "still down"}
	})
	res, err := RetryTransient{Retries: 1, Backoff: time.Millisecond, Next: inner}.Build(context.Background(), Spec{Tags: []string{"latest", "v1"}})
	if err == nil || n != 2 || res.Attempts != 2 {
		t.Fatalf("attempts %d (ran %d), err %v; want 2 attempts and the last error", res.Attempts, n, err)
	}
	if res.Digest != "sha256:first" || len(res.Tags) != 1 || res.Tags[0] != "latest" {
		t.Fatalf("result %+v, want the first attempt's push (sha256:first, [latest])", res)
	}
}
