package kaniko

import (
	"bufio"
	"regexp"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

func (r *run) followLogs() {
	defer close(r.logsDone)
	stream, err := r.e.Client.CoreV1().Pods(r.spec.Namespace).GetLogs(r.name, &corev1.PodLogOptions{
		Container: ContainerName, Follow: true, Timestamps: true,
	}).Stream(r.logCtx)
	if err != nil {
		r.e.logger().Step("cannot follow the executor log", "error", err.Error())
		return
	}
	defer stream.Close()
	scanner := bufio.NewScanner(stream)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	redact := build.URLRedactor(r.spec.Context.URL)
	for scanner.Scan() {
		ts, msg := splitLogLine(scanner.Text())
		msg = redact(msg)
		r.e.logger().Output(msg)
		r.mu.Lock()
		r.tail.add(msg)
		r.phases.observe(ts, msg)
		r.mu.Unlock()
	}
}

// drainLogs waits for the log follower to reach the end of the
// executor's output, then folds the log's phases into the timings.
func (r *run) drainLogs() {
	timeout := r.e.LogDrainTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	r.drainLogsFor(timeout)
}

// drainLogsFor is drainLogs with its own bound.
func (r *run) drainLogsFor(timeout time.Duration) {
	if !r.started {
		return
	}
	select {
	case <-r.logsDone:
	case <-time.After(timeout):
		r.e.logger().Step("executor log did not end in time; timings may be incomplete")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phases.into(r.timings)
}

// ring keeps the last n lines.
type ring struct {
	buf  []string
	next int
	full bool
	mu   sync.Mutex
}

func newRing(n int) *ring { return &ring{buf: make([]string, n)} }

func (r *ring) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = line
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

func (r *ring) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.buf[:r.next]...)
	}
	return append(append([]string(nil), r.buf[r.next:]...), r.buf[:r.next]...)
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

// logPhases derives Kaniko's internal phases from its timestamped log,
// and what it pushed.
type logPhases struct {
	baseStart, stageStart, unpackEnd, pushStart, pushed time.Time
	afterUnpack                                         bool
	// pushing is the destination Kaniko announced last; pushes are the
	// destinations it reported pushed, with the digest.
	pushing string
	pushes  []pushedRef
}

// pushedRef is one destination Kaniko pushed.
type pushedRef struct{ ref, digest string }

func (p *logPhases) observe(ts time.Time, message string) {
	msg := kanikoLevel.ReplaceAllString(message, "")
	switch {
	case strings.HasPrefix(msg, "Pushing image to "):
		p.pushing = strings.TrimSpace(strings.TrimPrefix(msg, "Pushing image to "))
	case strings.HasPrefix(msg, "Pushed ") && p.pushing != "":
		ref := strings.TrimSpace(strings.TrimPrefix(msg, "Pushed "))
		if _, digest, ok := strings.Cut(ref, "@"); ok {
			p.pushes = append(p.pushes, pushedRef{ref: p.pushing, digest: digest})
		}
		p.pushing = ""
	}
	if ts.IsZero() {
		return
	}
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

// pushedTags returns the digest Kaniko reported pushed and the spec's
// tags it pushed it under, in the spec's order.
func (p *logPhases) pushedTags(spec build.Spec) (digest string, tags []string) {
	done := map[string]string{}
	for _, push := range p.pushes {
		done[push.ref] = push.digest
	}
	for _, tag := range spec.Tags {
		if d, ok := done[spec.Repository+":"+tag]; ok && (digest == "" || d == digest) {
			digest = d
			tags = append(tags, tag)
		}
	}
	return digest, tags
}

// into adds the phases seen in the log to t.
func (p *logPhases) into(t build.Timings) {
	baseEnd := p.unpackEnd
	if baseEnd.IsZero() {
		baseEnd = p.stageStart
	}
	if !p.baseStart.IsZero() && !baseEnd.IsZero() && !baseEnd.Before(p.baseStart) {
		t[build.PhaseBaseImagePull] = baseEnd.Sub(p.baseStart)
	}
	buildStart := baseEnd
	if buildStart.IsZero() {
		buildStart = p.baseStart
	}
	if !buildStart.IsZero() && !p.pushStart.IsZero() && !p.pushStart.Before(buildStart) {
		t[build.PhaseBuild] = p.pushStart.Sub(buildStart)
	}
	if !p.pushStart.IsZero() && !p.pushed.IsZero() && !p.pushed.Before(p.pushStart) {
		t[build.PhasePush] = p.pushed.Sub(p.pushStart)
	}
}
