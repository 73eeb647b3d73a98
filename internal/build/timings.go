package build

import (
	"regexp"
	"strings"
	"time"
)

// Phase names one measured part of a build.
type Phase string

// Phases reported in Timings, in the order they happen.
const (
	// PhaseExecutorStart runs from pod creation until the executor
	// container runs: scheduling, executor image pull, container start.
	PhaseExecutorStart Phase = "executor_start"
	// PhaseContextUpload is the transfer of the context to Kaniko's stdin.
	PhaseContextUpload Phase = "context_upload"
	// PhaseBaseImagePull runs from Kaniko's first base image request until
	// the base file system is unpacked (or, when no command needs it, until
	// the stage starts).
	PhaseBaseImagePull Phase = "base_image_pull"
	// PhaseBuild runs the Dockerfile's commands and snapshots.
	PhaseBuild Phase = "build"
	// PhasePush uploads the image to every destination.
	PhasePush Phase = "push"
	// PhaseTotal runs from pod creation until the executor terminated.
	PhaseTotal Phase = "total"
)

// AllPhases lists every phase in order.
var AllPhases = []Phase{PhaseExecutorStart, PhaseContextUpload, PhaseBaseImagePull, PhaseBuild, PhasePush, PhaseTotal}

// Timings holds the measured phases; a phase that did not happen (no base
// image for FROM scratch, no upload for a URL context) is absent.
type Timings map[Phase]time.Duration

// Seconds returns the timings in seconds, rounded to milliseconds.
func (t Timings) Seconds() map[string]float64 {
	out := make(map[string]float64, len(t))
	for p, d := range t {
		out[string(p)] = float64(d.Round(time.Millisecond)) / float64(time.Second)
	}
	return out
}

// kanikoLevel matches the logrus prefix Kaniko puts on every line.
var kanikoLevel = regexp.MustCompile(`^(INFO|WARN|ERRO|DEBU|TRAC|FATA|PANI)\[\d+\] `)

// ansiEscape matches terminal colour codes; Kaniko's default log format
// colours the level even when not writing to a terminal.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// splitLogLine separates the kubelet's RFC 3339 timestamp (present when
// logs are requested with timestamps) from the executor's message.
func splitLogLine(line string) (time.Time, string) {
	line = ansiEscape.ReplaceAllString(line, "")
	stamp, rest, ok := strings.Cut(line, " ")
	if ok {
		if ts, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			return ts, rest
		}
	}
	return time.Time{}, line
}

// logPhases derives Kaniko's internal phases from its timestamped log.
type logPhases struct {
	baseStart, stageStart, unpackEnd, pushStart, pushed time.Time
	afterUnpack                                         bool
}

func (p *logPhases) observe(ts time.Time, message string) {
	if ts.IsZero() {
		return
	}
	msg := kanikoLevel.ReplaceAllString(message, "")
	if p.afterUnpack {
		p.unpackEnd, p.afterUnpack = ts, false
	}
	switch {
	case strings.HasPrefix(msg, "Retrieving image") && p.baseStart.IsZero():
		p.baseStart = ts
	case strings.HasPrefix(msg, "Building stage") && p.stageStart.IsZero():
		p.stageStart = ts
	case strings.HasPrefix(msg, "Unpacking rootfs"):
		p.afterUnpack = true
	case strings.HasPrefix(msg, "Pushing image to") && p.pushStart.IsZero():
		p.pushStart = ts
	case strings.HasPrefix(msg, "Pushed "):
		p.pushed = ts
	}
}

// into adds the phases seen in the log to t.
func (p *logPhases) into(t Timings) {
	baseEnd := p.unpackEnd
	if baseEnd.IsZero() {
		baseEnd = p.stageStart
	}
	if !p.baseStart.IsZero() && !baseEnd.IsZero() && !baseEnd.Before(p.baseStart) {
		t[PhaseBaseImagePull] = baseEnd.Sub(p.baseStart)
	}
	buildStart := baseEnd
	if buildStart.IsZero() {
		buildStart = p.baseStart
	}
	if !buildStart.IsZero() && !p.pushStart.IsZero() && !p.pushStart.Before(buildStart) {
		t[PhaseBuild] = p.pushStart.Sub(buildStart)
	}
	if !p.pushStart.IsZero() && !p.pushed.IsZero() && !p.pushed.Before(p.pushStart) {
		t[PhasePush] = p.pushed.Sub(p.pushStart)
	}
}
