package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// TakeSnapshot returns spec with its local context archived into a
// temporary file, and a function that removes it. Specs without a local
// context, or with a snapshot already, are returned as they are, with a
// cleanup that does nothing. A ctx that is done stops the archiving.
func TakeSnapshot(ctx context.Context, spec Spec) (Spec, func(), error) {
	c := spec.Context
	if c.Source == nil || c.snapshot != nil {
		return spec, func() {}, nil
	}
	snap, err := c.Source.Snapshot(ctx, "")
	if err != nil {
		f := &Failure{Reason: ReasonContextRead, Message: "archiving the build context", Err: err}
		// An interrupted archive is not an unreadable context.
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			f.Reason = ReasonTimeout
		case errors.Is(err, context.Canceled):
			f.Reason = ReasonCanceled
		}
		return spec, func() {}, f
	}
	spec.Context.snapshot = snap
	return spec, func() { _ = snap.Remove() }, nil
}

// requireSnapshot is what executors check before reading a local
// context: only TakeSnapshot's archive is read, never the source.
func requireSnapshot(spec Spec) error {
	if spec.Context.Source != nil && spec.Context.snapshot == nil {
		return &Failure{Reason: ReasonInvalidRequest, Message: "the local context was not archived before the build (wrap the executor in build.SnapshotContext)"}
	}
	return nil
}

// CheckSpec validates the spec and, for a local context, that it was
// archived; executors call it first in Build.
func CheckSpec(spec Spec) error {
	if err := spec.Validate(); err != nil {
		return &Failure{Reason: ReasonInvalidRequest, Err: err}
	}
	return requireSnapshot(spec)
}

// SnapshotContext archives a local context once before the build, so the
// history labels, the executor and the recorded hash all see the same
// bytes, records the context's identity in the result, and removes the
// archive afterwards. It is the only step that takes a snapshot.
type SnapshotContext struct {
	Next Executor
}

// Plan forwards: planning reads only the Dockerfile, never the archive.
func (s SnapshotContext) Plan(ctx context.Context, spec Spec) (Plan, error) {
	return s.Next.Plan(ctx, spec)
}

// Build snapshots the context and runs the next executor on it.
func (s SnapshotContext) Build(ctx context.Context, spec Spec) (*Result, error) {
	spec, cleanup, err := TakeSnapshot(ctx, spec)
	defer cleanup()
	if err != nil {
		return NewResult(""), err
	}
	if err := checkPinnedContext(spec); err != nil {
		return NewResult(""), err
	}
	res, err := s.Next.Build(ctx, spec)
	res = resultOr(res)
	res.ContextSHA256 = spec.Context.SHA256()
	if content, derr := spec.Context.ReadDockerfile(); derr == nil {
		sum := sha256.Sum256(content)
		res.DockerfileSHA256 = hex.EncodeToString(sum[:])
	}
	return res, err
}
