package testcluster

import (
	"strings"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// kindLogger forwards kind's user-facing messages to the progress output.
type kindLogger struct{ p *Progress }

func (l kindLogger) Warn(message string)                      { l.p.Printf("kind: %s", message) }
func (l kindLogger) Warnf(format string, args ...any)         { l.p.Printf("kind: "+format, args...) }
func (l kindLogger) Error(message string)                     { l.p.Printf("kind: ERROR %s", message) }
func (l kindLogger) Errorf(format string, args ...any)        { l.p.Printf("kind: ERROR "+format, args...) }
func (l kindLogger) V(level kindlog.Level) kindlog.InfoLogger { return kindInfo{l.p, level == 0} }

type kindInfo struct {
	p       *Progress
	enabled bool
}

func (i kindInfo) Info(message string) {
	if i.enabled {
		i.p.Printf("kind: %s", strings.TrimSpace(message))
	}
}
func (i kindInfo) Infof(format string, args ...any) {
	if i.enabled {
		i.p.Printf("kind: "+strings.TrimSpace(format), args...)
	}
}
func (i kindInfo) Enabled() bool { return i.enabled }
