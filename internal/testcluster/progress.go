package testcluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Progress reports long steps to a writer: what runs, how long it took,
// and on failure which command failed and where its log is.
type Progress struct {
	Out io.Writer
}

func (p *Progress) out() io.Writer {
	if p == nil || p.Out == nil {
		return io.Discard
	}
	return p.Out
}

// Printf writes one line of progress.
func (p *Progress) Printf(format string, args ...any) {
	fmt.Fprintf(p.out(), "[harness %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// Step runs fn, reporting its start, duration and outcome.
func (p *Progress) Step(name string, fn func() error) error {
	start := time.Now()
	p.Printf("%s ...", name)
	if err := fn(); err != nil {
		p.Printf("%s FAILED after %s", name, since(start))
		return fmt.Errorf("%s: %w", name, err)
	}
	p.Printf("%s done in %s", name, since(start))
	return nil
}

// every calls fn every interval with the time elapsed, until the
// returned stop is called or ctx ends: progress for steps that print
// nothing for minutes.
func (p *Progress) every(ctx context.Context, interval time.Duration, fn func(elapsed time.Duration)) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				fn(time.Since(start))
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// CommandError reports a failed external command with its log.
type CommandError struct {
	Command string
	Log     string
	Tail    string
	Err     error
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("command failed: %s: %v", e.Command, e.Err)
	if e.Log != "" {
		msg += "\n  full log: " + e.Log
	}
	if e.Tail != "" {
		msg += "\n  last lines:\n    " + strings.ReplaceAll(strings.TrimRight(e.Tail, "\n"), "\n", "\n    ")
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// command describes an external program run by the harness.
type command struct {
	name string
	args []string
	dir  string
	env  []string
	// stdin, when set, is fed to the program.
	stdin io.Reader
}

func cmd(name string, args ...string) command { return command{name: name, args: args} }

func (c command) String() string {
	s := c.name + " " + strings.Join(c.args, " ")
	if c.dir != "" {
		s = "(cd " + c.dir + " && " + s + ")"
	}
	return s
}

func (c command) build(ctx context.Context) *exec.Cmd {
	x := exec.CommandContext(ctx, c.name, c.args...)
	x.Dir = c.dir
	if c.env != nil {
		x.Env = append(os.Environ(), c.env...)
	}
	x.Stdin = c.stdin
	// Ctrl-C reaches the program as SIGTERM first, so that debootstrap,
	// chroot and docker clean up (unmount, remove containers); only a
	// program still running 10 s later is killed.
	x.Cancel = func() error { return x.Process.Signal(syscall.SIGTERM) }
	x.WaitDelay = 10 * time.Second
	return x
}

// runLogged runs c with its output appended to logPath. On failure the
// error names the command and the log and carries the log's last lines.
func runLogged(ctx context.Context, logPath string, c command) error {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "\n$ %s\n", c)
	x := c.build(ctx)
	x.Stdout, x.Stderr = f, f
	if err := x.Run(); err != nil {
		return &CommandError{Command: c.String(), Log: logPath, Tail: tailOfFile(logPath, 15), Err: err}
	}
	return nil
}

// output runs c and returns its trimmed stdout; stderr goes into the error.
func output(ctx context.Context, c command) (string, error) {
	x := c.build(ctx)
	var stdout, stderr bytes.Buffer
	x.Stdout, x.Stderr = &stdout, &stderr
	if err := x.Run(); err != nil {
		return "", &CommandError{Command: c.String(), Tail: lastLines(stderr.String(), 15), Err: err}
	}
	return strings.TrimSpace(stdout.String()), nil
}

func tailOfFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return lastLines(string(data), n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
