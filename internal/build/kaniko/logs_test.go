package kaniko

import (
	"strings"
	"testing"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// studyLog is Kaniko v1.24.0's output for the study's Dockerfile, with the
// kubelet's timestamps as returned for logs requested with timestamps.
const studyLog = `2026-11-26T08:00:00.100000000Z INFO[0000] Retrieving image manifest registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1
2026-11-26T08:00:00.150000000Z INFO[0000] Retrieving image registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1 from registry registry.kube-system.svc.cluster.local:5000
2026-11-26T08:00:00.300000000Z INFO[0000] Built cross stage deps: map[]
2026-11-26T08:00:00.310000000Z INFO[0000] Retrieving image manifest registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1
2026-11-26T08:00:00.320000000Z INFO[0000] Returning cached image manifest
2026-11-26T08:00:00.330000000Z INFO[0000] Executing 0 build triggers
2026-11-26T08:00:00.340000000Z INFO[0000] Building stage 'registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1' [idx: '0', base-idx: '-1']
2026-11-26T08:00:00.350000000Z INFO[0000] Unpacking rootfs as cmd COPY main /usr/local/app/main requires it.
2026-11-26T08:00:06.350000000Z INFO[0006] WORKDIR /usr/local/app
2026-11-26T08:00:06.360000000Z INFO[0006] Cmd: workdir
2026-11-26T08:00:06.400000000Z INFO[0006] COPY main /usr/local/app/main
2026-11-26T08:00:06.900000000Z INFO[0006] Taking snapshot of files...
2026-11-26T08:00:07.100000000Z INFO[0007] ENTRYPOINT ["/usr/local/app/main"]
2026-11-26T08:00:07.350000000Z INFO[0007] Pushing image to registry.kube-system.svc.cluster.local:5000/new-image:latest
2026-11-26T08:00:08.100000000Z INFO[0008] Pushed registry.kube-system.svc.cluster.local:5000/new-image@sha256:2f0a`

func phasesOf(log string) build.Timings {
	var p logPhases
	for _, line := range strings.Split(log, "\n") {
		p.observe(splitLogLine(line))
	}
	t := build.Timings{}
	p.into(t)
	return t
}

func TestLogPhases(t *testing.T) {
	got := phasesOf(studyLog)
	want := build.Timings{build.PhaseBaseImagePull: 6250 * time.Millisecond, build.PhaseBuild: 1000 * time.Millisecond, build.PhasePush: 750 * time.Millisecond}
	for p, d := range want {
		if got[p] != d {
			t.Errorf("%s = %v, want %v", p, got[p], d)
		}
	}
	if s := got.Seconds(); s["base_image_pull"] != 6.25 || s["push"] != 0.75 {
		t.Errorf("Seconds() = %v", s)
	}
}

func TestLogPhasesColoured(t *testing.T) {
	coloured := strings.ReplaceAll(studyLog, "INFO[", "\x1b[36mINFO\x1b[0m[")
	if got := phasesOf(coloured); got[build.PhasePush] != 750*time.Millisecond || got[build.PhaseBaseImagePull] != 6250*time.Millisecond {
		t.Fatalf("phases of a coloured log = %v", got)
	}
	if _, msg := splitLogLine("2026-11-26T08:00:00Z \x1b[36mINFO\x1b[0m[0000] Pushed x"); msg != "INFO[0000] Pushed x" {
		t.Fatalf("message = %q", msg)
	}
}

func TestLogPhasesWithoutUnpack(t *testing.T) {
	log := `2026-11-26T08:00:00Z INFO[0000] Retrieving image manifest localhost:5000/base:1
2026-11-26T08:00:01Z INFO[0001] Building stage 'localhost:5000/base:1' [idx: '0', base-idx: '-1']
2026-11-26T08:00:01.5Z INFO[0001] ENV A=1
2026-11-26T08:00:02Z INFO[0002] Pushing image to localhost:5000/app:a
2026-11-26T08:00:02.5Z INFO[0002] Pushed localhost:5000/app@sha256:aa
2026-11-26T08:00:02.6Z INFO[0002] Pushing image to localhost:5000/app:b
2026-11-26T08:00:03Z INFO[0003] Pushed localhost:5000/app@sha256:aa`
	got := phasesOf(log)
	if got[build.PhaseBaseImagePull] != time.Second || got[build.PhaseBuild] != time.Second || got[build.PhasePush] != time.Second {
		t.Fatalf("phases = %v", got)
	}
}

func TestLogPhasesScratchAndUntimestamped(t *testing.T) {
	got := phasesOf("2026-11-26T08:00:00Z INFO[0000] No base image, nothing to extract\n2026-11-26T08:00:00Z INFO[0000] Building stage 'scratch' [idx: '0', base-idx: '-1']\n2026-11-26T08:00:01Z INFO[0001] Pushing image to x\n2026-11-26T08:00:02Z INFO[0002] Pushed x@sha256:a")
	if _, ok := got[build.PhaseBaseImagePull]; ok {
		t.Errorf("FROM scratch reported a base image pull: %v", got)
	}
	if got[build.PhaseBuild] != time.Second || got[build.PhasePush] != time.Second {
		t.Errorf("phases = %v", got)
	}
	if len(phasesOf("INFO[0000] Retrieving image manifest x\nINFO[0001] Pushed x")) != 0 {
		t.Error("lines without timestamps produced timings")
	}
}

// TestPushesFromTheLog: what Kaniko pushed is read from its log, so a
// build that failed after a push, or a pod lost after it, is tracked.
func TestPushesFromTheLog(t *testing.T) {
	spec := baseSpec()
	spec.Tags = []string{"latest", "v1", "onesbuild-k-1"}
	repo := spec.Repository
	var p logPhases
	for _, line := range []string{
		"INFO[0002] Pushing image to " + repo + ":latest",
		"INFO[0002] Pushed " + repo + "@" + testDigest,
		"INFO[0002] Pushing image to " + repo + ":v1",
		"INFO[0003] Pushed " + repo + "@" + testDigest,
		"INFO[0003] Pushing image to " + repo + ":onesbuild-k-1",
		"error pushing image: failed to push to destination " + repo + ":onesbuild-k-1: connection refused",
	} {
		p.observe(time.Now(), line)
	}
	digest, tags := p.pushedTags(spec)
	if digest != testDigest || strings.Join(tags, ",") != "latest,v1" {
		t.Errorf("pushed %s under %v, want %s under latest,v1", digest, tags, testDigest)
	}
	var none logPhases
	none.observe(time.Now(), "INFO[0001] Pushing image to "+repo+":latest")
	if d, tags := none.pushedTags(spec); d != "" || len(tags) != 0 {
		t.Errorf("a push announced but not done counted: %s %v", d, tags)
	}
}
