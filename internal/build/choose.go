package build

import (
	"context"
	"errors"
	"fmt"
)

// Prober is implemented by executors that can tell, before building,
// whether what a build needs answers from this machine; the direct
// executor asks the registries of the base and the target.
type Prober interface {
	Probe(ctx context.Context, spec Spec) error
}

// ChooseExecutor runs each build with the executor its spec names. For
// ExecutorAuto it builds directly when the direct executor's plan
// accepts the spec and its probe succeeds, and with Kaniko otherwise; a
// direct build that finds out late that it cannot perform the Dockerfile
// (a base image with ONBUILD triggers or a named USER) goes to Kaniko as
// well, since it has pushed nothing yet. Every fallback is logged with
// its reason.
type ChooseExecutor struct {
	Kaniko Executor
	Direct Executor
	Log    Logger
}

// Plan asks the executor the spec names; for ExecutorAuto it asks the
// direct executor first and plans for Kaniko when it declines.
func (s ChooseExecutor) Plan(ctx context.Context, spec Spec) (Plan, error) {
	switch spec.Executor {
	case "", ExecutorKaniko:
		return s.Kaniko.Plan(ctx, spec)
	case ExecutorDirect:
		return s.Direct.Plan(ctx, spec)
	case ExecutorAuto:
	default:
		return Plan{}, unknownExecutor(spec.Executor)
	}
	_, err := s.Direct.Plan(ctx, spec)
	if reason, declined := notEligible(err); declined {
		p, err := s.Kaniko.Plan(ctx, spec)
		p.NotDirect = reason
		return p, err
	}
	// Direct when the registry answers at build time.
	return Plan{}, err
}

// Build dispatches the spec.
func (s ChooseExecutor) Build(ctx context.Context, spec Spec) (*Result, error) {
	switch spec.Executor {
	case "", ExecutorKaniko:
		return s.Kaniko.Build(ctx, spec)
	case ExecutorDirect:
		return s.Direct.Build(ctx, spec)
	case ExecutorAuto:
	default:
		return NewResult(""), unknownExecutor(spec.Executor)
	}
	log := LoggerOr(s.Log)
	fallback := func(reason string) (*Result, error) {
		if spec.Pin != nil && spec.Pin.Digest != "" {
			// The plan showed a direct build's digest; Kaniko's would be
			// another.
			return NewResult(ExecutorDirect), &Failure{Reason: ReasonPredictionMissed,
				Message: "the plan predicted a direct build, and a direct build cannot run now: " + reason}
		}
		log.Step("executor auto: building with Kaniko", "reason", reason)
		return s.Kaniko.Build(ctx, spec)
	}
	_, err := s.Direct.Plan(ctx, spec)
	if reason, declined := notEligible(err); declined {
		return fallback(reason)
	} else if err != nil {
		return NewResult(""), err
	}
	if p, ok := s.Direct.(Prober); ok {
		if err := p.Probe(ctx, spec); err != nil {
			return fallback(err.Error())
		}
	}
	res, err := s.Direct.Build(ctx, spec)
	if reason, declined := notEligible(err); declined && (res == nil || len(res.Tags) == 0) {
		return fallback(reason)
	}
	if err == nil {
		log.Step("executor auto: built directly, without a pod")
	}
	return res, err
}

// notEligible reports whether err is the direct executor declining the
// spec, and why: a Dockerfile it cannot perform, or a platform it cannot
// know (Kaniko's pod has the platform of its node).
func notEligible(err error) (string, bool) {
	var f *Failure
	if errors.As(err, &f) && (f.Reason == ReasonNotEligible || f.Reason == ReasonPlatform) {
		return f.Message, true
	}
	return "", false
}

func unknownExecutor(name string) error {
	return &Failure{Reason: ReasonInvalidRequest, Message: fmt.Sprintf("unknown executor %q", name)}
}
