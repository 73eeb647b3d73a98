package build

import "context"

// fakeExecutor plans and builds with functions; nil functions accept
// every spec and build nothing.
type fakeExecutor struct {
	name  string
	plan  func(context.Context, Spec) (Plan, error)
	build func(context.Context, Spec) (*Result, error)
	// planned and built count the calls.
	planned, built int
}

func (f *fakeExecutor) Plan(ctx context.Context, spec Spec) (Plan, error) {
	f.planned++
	if f.plan == nil {
		return Plan{Executor: f.name}, nil
	}
	return f.plan(ctx, spec)
}

func (f *fakeExecutor) Build(ctx context.Context, spec Spec) (*Result, error) {
	f.built++
	if f.build == nil {
		return &Result{Executor: f.name, Timings: Timings{}}, nil
	}
	return f.build(ctx, spec)
}

// builds returns an executor whose Build is fn.
func builds(fn func(context.Context, Spec) (*Result, error)) *fakeExecutor {
	return &fakeExecutor{build: fn}
}
