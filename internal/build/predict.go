package build

import (
	"context"
	"errors"
)

// Pin is what a plan predicted for a build: the apply builds exactly
// that or nothing. A direct build is reproducible, so a plan can know
// its digest (see Predictor); the apply then builds on the base digest
// the plan resolved, from a context whose hash is the planned one, and
// must reach the planned digest.
type Pin struct {
	// ContextSHA256 is the planned context hash; a snapshot with another
	// fails with ReasonContextChanged before anything is built.
	ContextSHA256 string
	// BaseDigest is the base image the plan resolved: the platform's
	// image, or the index of a multi-platform build.
	BaseDigest string
	// Digest is the planned image (or index) digest.
	Digest string
}

// Predictor is implemented by the steps of the engine that can say,
// without pushing, what a build will push: the digest, the base digest,
// the platforms' digests and the size. Only reproducible direct builds
// can; everything else answers ErrNotPredictable.
type Predictor interface {
	Predict(ctx context.Context, spec Spec) (*Result, error)
}

// ErrNotPredictable is a build whose result the plan cannot know: a
// Kaniko build, an executor chosen at apply, labels with the time.
var ErrNotPredictable = errors.New("the build's result is known only after it ran")

// Predict asks next, when it can predict.
func Predict(ctx context.Context, next Executor, spec Spec) (*Result, error) {
	if p, ok := next.(Predictor); ok {
		return p.Predict(ctx, spec)
	}
	return nil, ErrNotPredictable
}

// Predict archives the context as Build does and predicts from the
// snapshot.
func (s SnapshotContext) Predict(ctx context.Context, spec Spec) (*Result, error) {
	spec, cleanup, err := TakeSnapshot(ctx, spec)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	if err := checkPinnedContext(spec); err != nil {
		return nil, err
	}
	res, err := Predict(ctx, s.Next, spec)
	if err != nil {
		return nil, err
	}
	res.ContextSHA256 = spec.Context.SHA256()
	return res, nil
}

// checkPinnedContext refuses a snapshot whose hash is not the planned.
func checkPinnedContext(spec Spec) error {
	if spec.Pin == nil || spec.Pin.ContextSHA256 == "" || spec.Context.SHA256() == spec.Pin.ContextSHA256 {
		return nil
	}
	return &Failure{Reason: ReasonContextChanged,
		Message: "the build context is " + spec.Context.SHA256() + " now and was " + spec.Pin.ContextSHA256 + " when the plan computed the digest"}
}

// Predict labels the spec as Build does; history tags do not change the
// image.
func (h RecordHistory) Predict(ctx context.Context, spec Spec) (*Result, error) {
	spec, _ = h.label(spec, h.Clock.Now())
	return Predict(ctx, h.Next, spec)
}

// Predict forwards: the plan ran the check.
func (c CheckArchitecture) Predict(ctx context.Context, spec Spec) (*Result, error) {
	return Predict(ctx, c.Next, spec)
}

// Predict asks the direct executor when it will build the spec: named,
// or chosen by auto because it accepts the Dockerfile and its registries
// answer now.
func (s ChooseExecutor) Predict(ctx context.Context, spec Spec) (*Result, error) {
	switch spec.Executor {
	case ExecutorDirect:
	case ExecutorAuto:
		if _, err := s.Direct.Plan(ctx, spec); err != nil {
			return nil, ErrNotPredictable
		}
		if p, ok := s.Direct.(Prober); ok {
			if err := p.Probe(ctx, spec); err != nil {
				return nil, ErrNotPredictable
			}
		}
	default:
		return nil, ErrNotPredictable
	}
	return Predict(ctx, s.Direct, spec)
}
