package build

import (
	"context"
	"errors"
	"fmt"
)

// Select runs each build with the executor its spec names. For
// ExecutorAuto it builds directly when Eligible says it can, and with
// Kaniko otherwise; a direct build that finds out late that it cannot
// perform the Dockerfile (a base image with ONBUILD triggers or a named
// USER) goes to Kaniko as well, since it has pushed nothing yet. Every
// fallback is logged with its reason.
type Select struct {
	Kaniko Executor
	Direct Executor
	// Eligible reports why a direct build cannot be made, or nil: the
	// Dockerfile's instructions, the registry's reachability from this
	// machine.
	Eligible func(ctx context.Context, spec Spec) error
	Log      Logger
}

// Build dispatches the spec.
func (s Select) Build(ctx context.Context, spec Spec) (*Result, error) {
	switch spec.Executor {
	case "", ExecutorKaniko:
		return s.Kaniko.Build(ctx, spec)
	case ExecutorDirect:
		return s.Direct.Build(ctx, spec)
	case ExecutorAuto:
	default:
		return &Result{Timings: Timings{}}, &Failure{Reason: ReasonInvalidRequest, Message: fmt.Sprintf("unknown executor %q", spec.Executor)}
	}
	log := LoggerOr(s.Log)
	if s.Eligible != nil {
		if err := s.Eligible(ctx, spec); err != nil {
			log.Step("executor auto: building with Kaniko", "reason", err.Error())
			return s.Kaniko.Build(ctx, spec)
		}
	}
	res, err := s.Direct.Build(ctx, spec)
	var f *Failure
	if errors.As(err, &f) && f.Reason == ReasonNotEligible {
		log.Step("executor auto: building with Kaniko", "reason", f.Message)
		return s.Kaniko.Build(ctx, spec)
	}
	if err == nil {
		log.Step("executor auto: built directly, without a pod")
	}
	return res, err
}
