package build

import (
	"context"
	"errors"
	"testing"
)

// declines is a direct executor that cannot perform the Dockerfile.
func declines(reason string) func(context.Context, Spec) (Plan, error) {
	return func(context.Context, Spec) (Plan, error) {
		return Plan{}, &Failure{Reason: ReasonNotEligible, Message: reason}
	}
}

type probingExecutor struct {
	*fakeExecutor
	probe error
}

func (p probingExecutor) Probe(context.Context, Spec) error { return p.probe }

func TestChooseExecutorPlan(t *testing.T) {
	broken := &Failure{Reason: ReasonContextRead, Message: "no Dockerfile"}
	for _, tt := range []struct {
		name       string
		executor   string
		directPlan func(context.Context, Spec) (Plan, error)
		want       Plan
		wantReason FailureReason
	}{
		{name: "empty is kaniko", executor: "", want: Plan{Executor: ExecutorKaniko}},
		{name: "kaniko", executor: ExecutorKaniko, want: Plan{Executor: ExecutorKaniko}},
		{name: "direct", executor: ExecutorDirect, want: Plan{Executor: ExecutorDirect}},
		{name: "direct, not eligible", executor: ExecutorDirect, directPlan: declines("RUN on line 2"), wantReason: ReasonNotEligible},
		{name: "auto, eligible: decided when the build probes the registry", executor: ExecutorAuto, want: Plan{}},
		{name: "auto, not eligible: kaniko with the reason", executor: ExecutorAuto, directPlan: declines("RUN on line 2"),
			want: Plan{Executor: ExecutorKaniko, NotDirect: "RUN on line 2"}},
		{name: "auto, platform unknown: kaniko with the reason", executor: ExecutorAuto, directPlan: unknownPlatform,
			want: Plan{Executor: ExecutorKaniko, NotDirect: "the base image has several platforms and the nodes cannot be listed"}},
		{name: "direct, platform unknown: the error", executor: ExecutorDirect, directPlan: unknownPlatform, wantReason: ReasonPlatform},
		{name: "auto, an unreadable Dockerfile is an error", executor: ExecutorAuto,
			directPlan: func(context.Context, Spec) (Plan, error) { return Plan{}, broken }, wantReason: ReasonContextRead},
		{name: "unknown", executor: "docker", wantReason: ReasonInvalidRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kaniko := &fakeExecutor{name: ExecutorKaniko}
			direct := &fakeExecutor{name: ExecutorDirect, plan: tt.directPlan}
			got, err := ChooseExecutor{Kaniko: kaniko, Direct: direct}.Plan(context.Background(), Spec{Executor: tt.executor})
			var f *Failure
			switch {
			case tt.wantReason != "":
				if !errors.As(err, &f) || f.Reason != tt.wantReason {
					t.Fatalf("err = %v, want reason %s", err, tt.wantReason)
				}
			case err != nil:
				t.Fatal(err)
			case got != tt.want:
				t.Errorf("plan = %+v, want %+v", got, tt.want)
			}
			if kaniko.built+direct.built != 0 {
				t.Error("planning built something")
			}
		})
	}
}

// unknownPlatform is a direct executor that cannot tell the platform
// Kaniko would build for.
func unknownPlatform(context.Context, Spec) (Plan, error) {
	return Plan{}, &Failure{Reason: ReasonPlatform, Message: "the base image has several platforms and the nodes cannot be listed"}
}

func TestChooseExecutorBuild(t *testing.T) {
	pushed := func(context.Context, Spec) (*Result, error) {
		return &Result{Executor: ExecutorDirect, Tags: []string{"latest"}}, &Failure{Reason: ReasonNotEligible, Message: "late"}
	}
	late := func(context.Context, Spec) (*Result, error) {
		return &Result{Executor: ExecutorDirect}, &Failure{Reason: ReasonNotEligible, Message: "ONBUILD in the base"}
	}
	for _, tt := range []struct {
		name        string
		executor    string
		directPlan  func(context.Context, Spec) (Plan, error)
		probe       error
		directBuild func(context.Context, Spec) (*Result, error)
		wantBuilder string // who built: kaniko, direct, or "" for an error
		wantKaniko  int
		wantDirect  int
	}{
		{name: "kaniko", executor: ExecutorKaniko, wantBuilder: ExecutorKaniko, wantKaniko: 1},
		{name: "direct", executor: ExecutorDirect, wantBuilder: ExecutorDirect, wantDirect: 1},
		{name: "auto builds directly", executor: ExecutorAuto, wantBuilder: ExecutorDirect, wantDirect: 1},
		{name: "auto, not eligible", executor: ExecutorAuto, directPlan: declines("RUN"), wantBuilder: ExecutorKaniko, wantKaniko: 1},
		{name: "auto, registry unreachable", executor: ExecutorAuto, probe: errors.New("connection refused"), wantBuilder: ExecutorKaniko, wantKaniko: 1},
		{name: "auto, platform unknown (nodes not readable, multi-platform base)", executor: ExecutorAuto, directPlan: unknownPlatform,
			wantBuilder: ExecutorKaniko, wantKaniko: 1},
		{name: "auto, declined late before a push", executor: ExecutorAuto, directBuild: late, wantBuilder: ExecutorKaniko, wantKaniko: 1, wantDirect: 1},
		{name: "auto, declined after a push is not rebuilt", executor: ExecutorAuto, directBuild: pushed, wantDirect: 1},
		{name: "direct, registry unreachable is not probed", executor: ExecutorDirect, probe: errors.New("refused"), wantBuilder: ExecutorDirect, wantDirect: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kaniko := &fakeExecutor{name: ExecutorKaniko}
			direct := probingExecutor{&fakeExecutor{name: ExecutorDirect, plan: tt.directPlan, build: tt.directBuild}, tt.probe}
			res, err := ChooseExecutor{Kaniko: kaniko, Direct: direct}.Build(context.Background(), Spec{Executor: tt.executor})
			if tt.wantBuilder == "" {
				if err == nil {
					t.Fatal("no error")
				}
			} else if err != nil || res.Executor != tt.wantBuilder {
				t.Fatalf("built by %q (err %v), want %q", res.Executor, err, tt.wantBuilder)
			}
			if kaniko.built != tt.wantKaniko || direct.built != tt.wantDirect {
				t.Errorf("kaniko built %d, direct %d; want %d, %d", kaniko.built, direct.built, tt.wantKaniko, tt.wantDirect)
			}
		})
	}
}

// TestWrappersForwardPlan: every wrapper asks the executor it wraps, so
// that a plan is the executor's own answer about the spec it will build.
func TestWrappersForwardPlan(t *testing.T) {
	inner := &fakeExecutor{name: ExecutorDirect}
	for name, w := range map[string]Executor{
		"SnapshotContext":  SnapshotContext{Next: inner},
		"RecordHistory":    RecordHistory{Next: inner},
		"ConcurrencyLimit": ConcurrencyLimit{Queue: NewQueue(1), Next: inner},
		"RetryTransient":   RetryTransient{Next: inner},
	} {
		before := inner.planned
		p, err := w.Plan(context.Background(), Spec{})
		if err != nil || p.Executor != ExecutorDirect || inner.planned != before+1 {
			t.Errorf("%s: plan %+v, err %v, forwarded %d times", name, p, err, inner.planned-before)
		}
	}
}
