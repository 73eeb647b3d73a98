package tfcli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeCLI is a stand-in for terraform: it insists on -chdir first,
// prints the directory's main.tf, what it was given and the variables
// Dir sets; "show" prints $FAKE_SHOW_JSON instead, and "fail" prints
// 500 numbered lines and exits 3.
const fakeCLI = `#!/bin/sh
case "$1" in
-chdir=*) dir=${1#-chdir=}; shift ;;
*) echo "no -chdir first: $1"; exit 9 ;;
esac
case "$1" in
show) printf '%s' "$FAKE_SHOW_JSON"; exit 0 ;;
fail) i=0; while [ $i -lt 500 ]; do echo "line $i of the failure"; i=$((i+1)); done; exit 3 ;;
esac
echo "dir=$dir"
echo "config=$TF_CLI_CONFIG_FILE"
echo "automation=$TF_IN_AUTOMATION"
for a in "$@"; do echo "arg=$a"; done
cat "$dir/main.tf"
`

func newFakeDir(t *testing.T) *Dir {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake CLI is a shell script")
	}
	bin := filepath.Join(t.TempDir(), "fake-terraform")
	if err := os.WriteFile(bin, []byte(fakeCLI), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Dir{CLI: bin, Path: t.TempDir(), ConfigFile: "/elsewhere/terraformrc"}
}

func TestRunGivesChdirArgsAndConfig(t *testing.T) {
	d := newFakeDir(t)
	t.Setenv("TF_CLI_CONFIG_FILE", "/from/the/environment")
	if err := d.Write("resource \"x\" \"y\" {}\n"); err != nil {
		t.Fatal(err)
	}
	out, err := d.Run(context.Background(), "apply", "-auto-approve", "-input=false")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := strings.Join([]string{
		"dir=" + d.Path,
		"config=/elsewhere/terraformrc",
		"automation=1",
		"arg=apply", "arg=-auto-approve", "arg=-input=false",
		`resource "x" "y" {}`,
	}, "\n") + "\n"
	if string(out) != want {
		t.Errorf("the CLI saw\n%s\nwant\n%s", out, want)
	}
}

func TestRunWithoutConfigFileKeepsTheEnvironments(t *testing.T) {
	d := newFakeDir(t)
	d.ConfigFile = ""
	t.Setenv("TF_CLI_CONFIG_FILE", "/from/the/environment")
	if err := d.Write(""); err != nil {
		t.Fatal(err)
	}
	out, err := d.Run(context.Background(), "plan")
	if err != nil || !strings.Contains(string(out), "config=/from/the/environment\n") {
		t.Errorf("err = %v, output:\n%s", err, out)
	}
}

func TestRunFailureCarriesTheTail(t *testing.T) {
	d := newFakeDir(t)
	out, err := d.Run(context.Background(), "fail", "-input=false")
	if !strings.HasPrefix(string(out), "line 0 of the failure\n") || !strings.HasSuffix(string(out), "line 499 of the failure\n") {
		t.Errorf("the whole output is not returned: %d bytes", len(out))
	}
	var cliErr *Error
	if !errors.As(err, &cliErr) {
		t.Fatalf("err = %T %v, want an *Error", err, err)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("err does not lead to the exit status 3: %v", err)
	}
	head, tail, ok := strings.Cut(err.Error(), "\n")
	if !ok || head != "fake-terraform fail: exit status 3" {
		t.Errorf("message starts %q, want the CLI, the subcommand and the cause", head)
	}
	if tail != cliErr.Tail() || len(tail) != 2000 || !strings.HasSuffix(tail, "line 499 of the failure\n") || strings.Contains(tail, "line 0 of") {
		t.Errorf("message tail is %d bytes, want the last 2000 of the output:\n%s", len(tail), tail)
	}
}

func TestErrorOfShortOutputHasAllOfIt(t *testing.T) {
	e := &Error{CLI: "/usr/bin/tofu", Args: []string{"init"}, Output: []byte("Error: no such provider\n"), Err: errors.New("exit status 1")}
	if got, want := e.Error(), "tofu init: exit status 1\nError: no such provider\n"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestStateRunsShowJSON(t *testing.T) {
	d := newFakeDir(t)
	t.Setenv("FAKE_SHOW_JSON", `{"format_version":"1.0","values":{"root_module":{"resources":[{"address":"onesbuild_image.app","values":{"digest":"sha256:ab"}}]}}}`)
	s, err := d.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Resources) != 1 || s.Resources[0].Address != "onesbuild_image.app" || s.Resources[0].Values["digest"] != "sha256:ab" {
		t.Errorf("state = %+v", s)
	}
}

func TestStateOfFailedShow(t *testing.T) {
	d := newFakeDir(t)
	t.Setenv("FAKE_SHOW_JSON", "not json")
	if _, err := d.State(context.Background()); err == nil || !strings.Contains(err.Error(), "show -json") {
		t.Errorf("err = %v, want a parse error naming show -json", err)
	}
}
