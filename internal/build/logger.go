package build

import "time"

// Logger receives the engine's progress and the executor's output.
type Logger interface {
	// Step reports an engine step, with key/value pairs for context.
	Step(msg string, keyvals ...any)
	// Output reports one line of executor output, without timestamp.
	Output(line string)
}

// DiscardLogger drops everything.
type DiscardLogger struct{}

// Step does nothing.
func (DiscardLogger) Step(string, ...any) {}

// Output does nothing.
func (DiscardLogger) Output(string) {}

// LoggerOr returns l, or a DiscardLogger when l is nil.
func LoggerOr(l Logger) Logger {
	if l == nil {
		return DiscardLogger{}
	}
	return l
}

// Clock returns the current time; nil means time.Now.
type Clock func() time.Time

// Now reads the clock.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
