package build

import "time"

// Phase names one measured part of a build.
type Phase string

// Phases reported in Timings, in the order they happen.
const (
	// PhaseQueued is the wait for a free build slot.
	PhaseQueued Phase = "queued"
	// PhaseExecutorStart runs from pod creation until the executor
	// container runs: scheduling, executor image pull, container start.
	PhaseExecutorStart Phase = "executor_start"
	// PhaseContextUpload is the transfer of the context to Kaniko's
	// stdin. A direct build uploads no context: it reads the snapshot
	// while it makes its layers, within PhaseBuild.
	PhaseContextUpload Phase = "context_upload"
	// PhaseArchitectureCheck reads the headers of the executables the
	// Dockerfile copies (CheckArchitecture).
	PhaseArchitectureCheck Phase = "architecture_check"
	// PhaseBaseImagePull runs from Kaniko's first base image request until
	// the base file system is unpacked; for a direct build, resolving the
	// base manifest (and its file index, the first time).
	PhaseBaseImagePull Phase = "base_image_pull"
	// PhaseBuild runs the Dockerfile's commands and snapshots.
	PhaseBuild Phase = "build"
	// PhasePush uploads the image to every destination.
	PhasePush Phase = "push"
	// PhaseTotal runs from pod creation until the executor terminated, or
	// from the start to the end of a direct build.
	PhaseTotal Phase = "total"
)

// AllPhases lists every phase in order.
var AllPhases = []Phase{PhaseQueued, PhaseArchitectureCheck, PhaseExecutorStart, PhaseContextUpload, PhaseBaseImagePull, PhaseBuild, PhasePush, PhaseTotal}

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
