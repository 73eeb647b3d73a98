package tfcli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// tailBytes is how much of a failed command's output its Error shows.
const tailBytes = 2000

// Dir is a working directory driven with a CLI.
type Dir struct {
	// CLI is the terraform or tofu binary.
	CLI string
	// Path is the working directory, given to the CLI as -chdir.
	Path string
	// ConfigFile is the CLI configuration, given as TF_CLI_CONFIG_FILE
	// (see WriteDevOverrides); "" leaves the environment's.
	ConfigFile string
	// Env is added to the environment, for example
	// TF_REATTACH_PROVIDERS for a provider served by the caller.
	Env []string
}

// Write replaces the directory's configuration, main.tf.
func (d *Dir) Write(config string) error {
	return os.WriteFile(filepath.Join(d.Path, "main.tf"), []byte(config), 0o644)
}

// Run runs the CLI with args in the directory, in automation mode, and
// returns its combined output. When the CLI fails, the output is
// returned too, and the error is an *Error.
func (d *Dir) Run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, d.CLI, append([]string{"-chdir=" + d.Path}, args...)...)
	cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1")
	if d.ConfigFile != "" {
		cmd.Env = append(cmd.Env, "TF_CLI_CONFIG_FILE="+d.ConfigFile)
	}
	cmd.Env = append(cmd.Env, d.Env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, &Error{CLI: d.CLI, Args: args, Output: out, Err: err}
	}
	return out, nil
}

// Error is a CLI command that failed. Its message names the CLI and the
// subcommand and ends with the tail of the output, where the CLI says
// what went wrong; errors.As reaches the *exec.ExitError beneath.
type Error struct {
	CLI    string
	Args   []string
	Output []byte
	Err    error
}

func (e *Error) Error() string {
	sub := ""
	if len(e.Args) > 0 {
		sub = " " + e.Args[0]
	}
	return fmt.Sprintf("%s%s: %v\n%s", filepath.Base(e.CLI), sub, e.Err, e.Tail())
}

func (e *Error) Unwrap() error { return e.Err }

// Tail is the last part of the output, the whole of a short one.
func (e *Error) Tail() string {
	if len(e.Output) > tailBytes {
		return string(e.Output[len(e.Output)-tailBytes:])
	}
	return string(e.Output)
}
