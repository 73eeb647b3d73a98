package archcheck

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

// TestIdentifyTestBinary identifies the running test binary, a real
// executable (dynamically linked under -race) for the platform it runs on.
func TestIdentifyTestBinary(t *testing.T) {
	path, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Identify(f, st.Size())
	if err != nil || b == nil {
		t.Fatalf("Identify = %v, %v", b, err)
	}
	if err := Check(b, runtime.GOOS+"/"+runtime.GOARCH); err != nil {
		t.Errorf("the test binary, %v: %v", b, err)
	}
}

// TestIdentifyGoBuild identifies hello worlds cross-compiled by the test,
// the study's linux/arm64 on linux/amd64 among them. Cross-compiling needs
// no emulation, but a first run compiles the standard library for each
// target (half a minute each on a busy machine); the build cache makes
// later runs take a second. -short skips it.
func TestIdentifyGoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles Go programs")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	src := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":  "module hello\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		goos, goarch, goarm string
		want                Binary // Format, OS, Arch, Variant, Class, ByteOrder
		runsOn, notOn       string
	}{
		{goos: "linux", goarch: "amd64", want: Binary{Format: FormatELF, Arch: "amd64", Class: 64, ByteOrder: LittleEndian},
			runsOn: "linux/amd64", notOn: "linux/arm64"},
		{goos: "linux", goarch: "arm64", want: Binary{Format: FormatELF, Arch: "arm64", Class: 64, ByteOrder: LittleEndian},
			runsOn: "linux/arm64", notOn: "linux/amd64"},
		{goos: "linux", goarch: "arm", goarm: "7", want: Binary{Format: FormatELF, Arch: "arm", Variant: "v7", Class: 32, ByteOrder: LittleEndian},
			runsOn: "linux/arm", notOn: "linux/arm/v6"},
		{goos: "darwin", goarch: "arm64", want: Binary{Format: FormatMachO, OS: "darwin", Arch: "arm64", Class: 64, ByteOrder: LittleEndian},
			runsOn: "darwin/arm64", notOn: "linux/arm64"},
		{goos: "windows", goarch: "amd64", want: Binary{Format: FormatPE, OS: "windows", Arch: "amd64", Class: 64, ByteOrder: LittleEndian},
			runsOn: "windows/amd64", notOn: "linux/amd64"},
	} {
		name := tt.goos + "-" + tt.goarch + tt.goarm
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), name)
			cmd := exec.Command(gobin, "build", "-o", out, ".")
			cmd.Dir = src
			cmd.Env = append(os.Environ(), "GOOS="+tt.goos, "GOARCH="+tt.goarch, "GOARM="+tt.goarm,
				"CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, msg)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			b, err := Identify(f, st.Size())
			if err != nil || b == nil {
				t.Fatalf("Identify = %v, %v", b, err)
			}
			got := *b
			got.Machine = 0
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Identify = %+v, want %+v", got, tt.want)
			}
			if err := Check(b, tt.runsOn); err != nil {
				t.Errorf("Check(%s) = %v", tt.runsOn, err)
			}
			var m *MismatchError
			if err := Check(b, tt.notOn); !errors.As(err, &m) {
				t.Errorf("Check(%s) = %v, want a mismatch", tt.notOn, err)
			} else {
				t.Logf("%s: %v; %s", name, err, m.Fix())
			}
		})
	}
}
