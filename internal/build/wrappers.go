package build

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Queued runs builds through a Queue: at most the queue's limit run at
// once, the rest wait in arrival order. The wait is reported as
// PhaseQueued and counts against the caller's context deadline.
type Queued struct {
	Queue *Queue
	Next  Executor
	Log   Logger
}

// Build waits for a slot, then runs the next executor.
func (q Queued) Build(ctx context.Context, spec Spec) (*Result, error) {
	log := LoggerOr(q.Log)
	release, waited, err := q.Queue.Acquire(ctx, func() {
		log.Step("build queued: all build slots are busy", "max_concurrent_builds", q.Queue.Limit(), "repository", spec.Repository)
	})
	defer release()
	if err != nil {
		return &Result{Timings: Timings{PhaseQueued: waited}}, &Failure{
			Reason:  ReasonTimeout,
			Message: "no build slot became free (max_concurrent_builds = " + strconv.Itoa(q.Queue.Limit()) + ") after waiting " + waited.Round(time.Second).String(),
			Err:     err,
		}
	}
	if waited > 0 {
		log.Step("build slot acquired", "queued_seconds", waited.Seconds())
	}
	res, err := q.Next.Build(ctx, spec)
	if res == nil {
		res = &Result{}
	}
	if res.Timings == nil {
		res.Timings = Timings{}
	}
	res.Timings[PhaseQueued] = waited
	return res, err
}

// RetryLostPods builds again, in a new pod, when a build pod was lost
// before the executor finished (evicted, its node gone, deleted by
// someone else), up to Retries times. Deterministic failures, such as a
// failing RUN step or a missing base image, are never retried.
type RetryLostPods struct {
	Retries int
	Next    Executor
	Log     Logger
}

// Build runs the next executor until it succeeds, fails for a reason a
// new pod cannot fix, or the retries are used up.
func (r RetryLostPods) Build(ctx context.Context, spec Spec) (*Result, error) {
	var warnings []Warning
	for attempt := 0; ; attempt++ {
		res, err := r.Next.Build(ctx, spec)
		if res == nil {
			res = &Result{Timings: Timings{}}
		}
		res.Attempts = attempt + 1
		res.Warnings = append(warnings, res.Warnings...)
		var f *Failure
		if err == nil || !errors.As(err, &f) || !f.Reason.podLost() || attempt >= r.Retries || ctx.Err() != nil {
			return res, err
		}
		warnings = res.Warnings
		LoggerOr(r.Log).Step("build pod lost before the executor finished; building again in a new pod",
			"pod", f.Pod, "reason", string(f.Reason), "message", f.Message, "attempt", attempt+2)
	}
}

// SnapshotContext archives a local context once before the build, so the
// history labels, the executor and the recorded hash all see the same
// bytes, and removes the archive afterwards.
type SnapshotContext struct {
	Next Executor
}

// Build snapshots the context and runs the next executor on it.
func (s SnapshotContext) Build(ctx context.Context, spec Spec) (*Result, error) {
	spec, cleanup, err := TakeSnapshot(spec)
	defer cleanup()
	if err != nil {
		return &Result{Timings: Timings{}}, err
	}
	res, err := s.Next.Build(ctx, spec)
	if res != nil && res.ContextSHA256 == "" {
		res.ContextSHA256 = spec.ContextHash()
	}
	return res, err
}

// Labels the provider writes into every image it builds, so that any
// registry tool shows where an image came from.
const (
	LabelCreated         = "org.opencontainers.image.created"
	LabelSource          = "org.opencontainers.image.source"
	LabelContextSHA256   = "dev.onesbuild.context-sha256"
	LabelProviderVersion = "dev.onesbuild.provider-version"
)

// HistoryLabels are the labels that record a build's inputs. A
// reproducible build carries only what identifies its inputs: the
// context hash, the source URL without credentials, and the fixed
// creation time; the wall-clock time and the provider's version, which
// vary from run to run and machine to machine, are left out. The user's
// labels override these.
func HistoryLabels(spec Spec, providerVersion string, now time.Time) map[string]string {
	labels := map[string]string{}
	if h := spec.ContextHash(); h != "" {
		labels[LabelContextSHA256] = h
	}
	if spec.ReproducibleLabels() {
		labels[LabelCreated] = spec.Created.UTC().Format(time.RFC3339)
	} else {
		labels[LabelCreated] = now.UTC().Format(time.RFC3339)
		if providerVersion != "" {
			labels[LabelProviderVersion] = providerVersion
		}
	}
	if u := spec.ContextURL; u != "" && !strings.HasPrefix(u, "dir://") {
		labels[LabelSource] = RedactURL(u)
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	return labels
}

// RedactURL removes what may carry credentials from a URL: the user
// information (https://user:token@host/...) and the query string
// (presigned URLs). The fragment stays: for git contexts it names the
// ref, which is not secret. A string that does not parse as a URL is
// cut at its first "@" and "?" so that nothing after them leaks.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		s := raw
		if i := strings.LastIndex(s, "@"); i >= 0 {
			if j := strings.Index(s, "://"); j >= 0 && j < i {
				s = s[:j+3] + s[i+1:]
			} else {
				s = s[i+1:]
			}
		}
		if i := strings.Index(s, "?"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	u.User = nil
	u.RawQuery, u.ForceQuery = "", false
	return u.String()
}

// Pruner deletes a resource's older builds; registry.Client implements it.
type Pruner interface {
	PruneHistory(ctx context.Context, repository, key string, keep int, protect []string, dryRun bool, report func(tag, digest string)) error
	Address(repository string) string
}

// HistoryKeyFunc and HistoryTagFunc name a resource's history tags; the
// registry package provides them.
type (
	HistoryKeyFunc func(repository string, tags []string) string
	HistoryTagFunc func(key string, t time.Time) string
)

// History records a build's inputs in image labels and, when the spec
// asks for retention, pushes a history tag with the build and prunes the
// resource's older builds after a successful one. Pruning failures are
// warnings, never errors: the image was built.
type History struct {
	ProviderVersion string
	Clock           Clock
	Pruner          Pruner
	HistoryKey      HistoryKeyFunc
	HistoryTag      HistoryTagFunc
	Next            Executor
	Log             Logger
}

// Build labels the spec, runs the next executor, then applies retention.
func (h History) Build(ctx context.Context, spec Spec) (*Result, error) {
	now := h.Clock.Now()
	spec.Labels = HistoryLabels(spec, h.ProviderVersion, now)
	var key string
	if spec.Retention != nil && h.Pruner != nil {
		key = h.HistoryKey(spec.Repository, spec.Tags)
		spec.Tags = append(append([]string(nil), spec.Tags...), h.HistoryTag(key, now))
	}
	res, err := h.Next.Build(ctx, spec)
	if err != nil || key == "" {
		return res, err
	}
	log := LoggerOr(h.Log)
	keep, dryRun := spec.Retention.KeepLast, spec.Retention.DryRun
	var pruned []Pruned
	perr := h.Pruner.PruneHistory(ctx, spec.Repository, key, keep, []string{res.Digest}, dryRun, func(tag, digest string) {
		pruned = append(pruned, Pruned{Tag: tag, Digest: digest})
		msg := "retention: deleting an old build"
		if dryRun {
			msg = "retention (dry run): would delete an old build"
		}
		log.Step(msg, "repository", spec.Repository, "history_tag", tag, "digest", digest, "keep_last", keep)
	})
	res.Pruned = pruned
	if perr != nil {
		res.Warnings = append(res.Warnings, Warning{Kind: WarningRetention, Message: "retention (keep_last = " + strconv.Itoa(keep) + ") could not clean up older builds of " +
			spec.Repository + " (contacted as " + h.Pruner.Address(spec.Repository) + "): " + perr.Error()})
		return res, nil
	}
	log.Step("retention done", "repository", spec.Repository, "deleted", len(pruned), "dry_run", dryRun)
	return res, nil
}
