package build

import (
	"context"
	"errors"
	"testing"
)

// predictingExecutor is a direct executor that predicts digest.
type predictingExecutor struct {
	*fakeExecutor
	digest    string
	probe     error
	predicted int
}

func (p *predictingExecutor) Probe(context.Context, Spec) error { return p.probe }

func (p *predictingExecutor) Predict(context.Context, Spec) (*Result, error) {
	p.predicted++
	return &Result{Executor: ExecutorDirect, Digest: p.digest, Timings: Timings{}}, nil
}

func TestChooseExecutorPredict(t *testing.T) {
	for _, tt := range []struct {
		name       string
		executor   string
		directPlan func(context.Context, Spec) (Plan, error)
		probe      error
		want       string
	}{
		{name: "direct", executor: ExecutorDirect, want: "sha256:d"},
		{name: "auto, eligible and reachable", executor: ExecutorAuto, want: "sha256:d"},
		{name: "auto, registry unreachable", executor: ExecutorAuto, probe: errors.New("refused")},
		{name: "auto, not eligible", executor: ExecutorAuto, directPlan: declines("RUN on line 2")},
		{name: "kaniko", executor: ExecutorKaniko},
		{name: "empty is kaniko", executor: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			direct := &predictingExecutor{fakeExecutor: &fakeExecutor{name: ExecutorDirect, plan: tt.directPlan}, digest: "sha256:d", probe: tt.probe}
			kaniko := &fakeExecutor{name: ExecutorKaniko}
			res, err := Predict(context.Background(), ChooseExecutor{Kaniko: kaniko, Direct: direct}, Spec{Executor: tt.executor})
			if tt.want == "" {
				if !errors.Is(err, ErrNotPredictable) || direct.predicted != 0 {
					t.Errorf("predict = %v, %v after %d predictions; want ErrNotPredictable and none", res, err, direct.predicted)
				}
				return
			}
			if err != nil || res.Digest != tt.want {
				t.Errorf("predict = %+v, %v; want %s", res, err, tt.want)
			}
			if kaniko.built+direct.built != 0 {
				t.Error("predicting built something")
			}
		})
	}
}

// TestPinnedAutoDoesNotFallBack: a build whose plan showed a direct
// digest fails instead of building with Kaniko, whose image would be
// another.
func TestPinnedAutoDoesNotFallBack(t *testing.T) {
	direct := &predictingExecutor{fakeExecutor: &fakeExecutor{name: ExecutorDirect}, probe: errors.New("refused")}
	kaniko := &fakeExecutor{name: ExecutorKaniko}
	_, err := ChooseExecutor{Kaniko: kaniko, Direct: direct}.Build(context.Background(), Spec{Executor: ExecutorAuto, Pin: &Pin{Digest: "sha256:d"}})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != ReasonPredictionMissed || kaniko.built != 0 {
		t.Errorf("err = %v, kaniko built %d; want %s and no Kaniko build", err, kaniko.built, ReasonPredictionMissed)
	}
	if _, err := (ChooseExecutor{Kaniko: kaniko, Direct: direct}).Build(context.Background(), Spec{Executor: ExecutorAuto}); err != nil || kaniko.built != 1 {
		t.Errorf("unpinned: err = %v, kaniko built %d; want the fallback", err, kaniko.built)
	}
}

// TestRecordHistoryPredictsTheLabelledSpec: the prediction sees the
// labels the build will push.
func TestRecordHistoryPredictsTheLabelledSpec(t *testing.T) {
	var labels map[string]string
	next := &labelReader{got: &labels}
	if _, err := Predict(context.Background(), RecordHistory{ProviderVersion: "1.2.3", Next: next}, Spec{Executor: ExecutorDirect}); err != nil {
		t.Fatal(err)
	}
	if len(labels) == 0 {
		t.Error("the prediction saw no history labels")
	}
}

type labelReader struct {
	fakeExecutor
	got *map[string]string
}

func (l *labelReader) Predict(_ context.Context, spec Spec) (*Result, error) {
	*l.got = spec.Labels
	return &Result{Timings: Timings{}}, nil
}
