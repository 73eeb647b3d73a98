package kaniko

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

type recordingBuilds struct {
	mu    sync.Mutex
	specs []build.Spec
	fail  string // platform whose build fails
}

func (r *recordingBuilds) Plan(context.Context, build.Spec) (build.Plan, error) {
	return build.Plan{Executor: build.ExecutorKaniko}, nil
}

func (r *recordingBuilds) Build(_ context.Context, s build.Spec) (*build.Result, error) {
	r.mu.Lock()
	r.specs = append(r.specs, s)
	r.mu.Unlock()
	if s.Platform == r.fail {
		return &build.Result{}, &build.Failure{Reason: build.ReasonExecutorFailed, Message: "exit 1"}
	}
	return &build.Result{Digest: "sha256:" + strings.Repeat(map[string]string{"linux/amd64": "a", "linux/arm64": "b"}[s.Platform], 64), Tags: s.Tags, Pod: "pod-" + s.Platform}, nil
}

type fakeIndex struct {
	images   map[string]string
	tags     []string
	untagged []string
}

func (f *fakeIndex) PushIndex(_ context.Context, _ string, images map[string]string, tags []string) (string, []string, error) {
	f.images, f.tags = images, tags
	return "sha256:" + strings.Repeat("f", 64), tags, nil
}

func (f *fakeIndex) Untag(_ context.Context, _, tag string) error {
	f.untagged = append(f.untagged, tag)
	return nil
}

type nodesOf map[string][]string // arch label value -> platforms found

func (n nodesOf) Platforms(_ context.Context, sel map[string]string, _ []corev1.Toleration) ([]string, error) {
	return n[sel[corev1.LabelArchStable]], nil
}

func multiSpec(dockerfile string) build.Spec {
	s := baseSpec()
	s.Context = build.Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": dockerfile, "x": "y"}}}
	s.Platforms = []string{"linux/arm64", "linux/amd64"}
	s.Tags = []string{"latest", "v1"}
	return s
}

func TestMultiPlatformBuildsEachPlatformOnItsNodes(t *testing.T) {
	next, idx := &recordingBuilds{}, &fakeIndex{}
	m := MultiPlatform{Next: next, Registry: idx, Nodes: nodesOf{"amd64": {"linux/amd64"}, "arm64": {"linux/arm64"}}}
	spec := multiSpec("FROM b\nRUN make\n")
	spec.Pod.NodeSelector = map[string]string{"pool": "build"}
	res, err := m.Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(next.specs, func(i, j int) bool { return next.specs[i].Platform < next.specs[j].Platform })
	for i, want := range []string{"amd64", "arm64"} {
		s := next.specs[i]
		if s.Platform != "linux/"+want || s.Pod.NodeSelector[corev1.LabelArchStable] != want || s.Pod.NodeSelector["pool"] != "build" ||
			len(s.Tags) != 1 || !strings.HasPrefix(s.Tags[0], "onesbuild-platform-") || len(s.Platforms) != 0 {
			t.Errorf("build of %s: platform %s, selector %v, tags %v", want, s.Platform, s.Pod.NodeSelector, s.Tags)
		}
	}
	if res.Digest != "sha256:"+strings.Repeat("f", 64) || len(res.PlatformDigests) != 2 || strings.Join(idx.tags, ",") != "latest,v1" {
		t.Errorf("result %+v, index tags %v", res, idx.tags)
	}
	if len(idx.untagged) != 2 {
		t.Errorf("temporary tags removed: %v", idx.untagged)
	}
}

func TestMultiPlatformWithoutRunBuildsAnywhere(t *testing.T) {
	next := &recordingBuilds{}
	m := MultiPlatform{Next: next, Registry: &fakeIndex{}, Nodes: nodesOf{"amd64": {"linux/amd64"}}}
	if _, err := m.Build(context.Background(), multiSpec("FROM b\nCOPY x /x\n")); err != nil {
		t.Fatal(err)
	}
	for _, s := range next.specs {
		if _, ok := s.Pod.NodeSelector[corev1.LabelArchStable]; ok {
			t.Errorf("a RUN-less build of %s was tied to its architecture's nodes: %v", s.Platform, s.Pod.NodeSelector)
		}
	}
}

func TestMultiPlatformRunNeedsANodeOfEachPlatform(t *testing.T) {
	next := &recordingBuilds{}
	m := MultiPlatform{Next: next, Registry: &fakeIndex{}, Nodes: nodesOf{"amd64": {"linux/amd64"}}}
	spec := multiSpec("FROM b\nRUN make\n")
	var f *build.Failure
	if _, err := m.Plan(context.Background(), spec); !errors.As(err, &f) || f.Reason != build.ReasonUnschedulable || !strings.Contains(f.Message, "linux/arm64") {
		t.Fatalf("plan err = %v, want no node of linux/arm64", err)
	}
	if _, err := m.Build(context.Background(), spec); !errors.As(err, &f) || f.Reason != build.ReasonUnschedulable {
		t.Fatalf("build err = %v", err)
	}
	if len(next.specs) != 0 {
		t.Errorf("%d builds started before the check", len(next.specs))
	}
	spec.Pod.PlatformNodeSelectors = map[string]map[string]string{"linux/arm64": {corev1.LabelArchStable: "amd64"}}
	if _, err := m.Plan(context.Background(), spec); err != nil {
		t.Errorf("a platform node selector naming existing nodes: %v", err)
	}
}

func TestMultiPlatformFailureNamesThePlatform(t *testing.T) {
	idx := &fakeIndex{}
	m := MultiPlatform{Next: &recordingBuilds{fail: "linux/arm64"}, Registry: idx}
	_, err := m.Build(context.Background(), multiSpec("FROM b\nCOPY x /x\n"))
	if err == nil || !strings.Contains(err.Error(), "building linux/arm64") {
		t.Fatalf("err = %v", err)
	}
	if idx.images != nil {
		t.Error("an index was pushed although a platform failed")
	}
	if len(idx.untagged) != 1 {
		t.Errorf("the platform that was pushed keeps its temporary tag: %v", idx.untagged)
	}
}
