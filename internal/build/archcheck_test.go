package build

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// elfFor is the header of a static 64-bit little-endian ELF executable
// for machine: what the architecture check reads.
func elfFor(machine elf.Machine) string {
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: 1, Ehsize: 64}
	copy(h.Ident[:], "\x7fELF")
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, h)
	return buf.String()
}

type fixedNodes []string

func (n fixedNodes) Platforms(context.Context, map[string]string, []corev1.Toleration) ([]string, error) {
	return n, nil
}

func TestCheckArchitecture(t *testing.T) {
	arm64, amd64 := elfFor(elf.EM_AARCH64), elfFor(elf.EM_X86_64)
	spec := func(files map[string]string) Spec {
		return Spec{Context: Context{Source: &buildcontext.Source{Files: files}}}
	}
	study := map[string]string{"Dockerfile": "FROM b\nWORKDIR /usr/local/app\nCOPY main /usr/local/app/main\n", "main": arm64}
	for _, tt := range []struct {
		name     string
		spec     Spec
		nodes    NodePlatforms
		wantFail string // a part of the message; "" passes
	}{
		{name: "the study's arm64 binary on amd64 nodes", spec: spec(study), nodes: fixedNodes{"linux/amd64"},
			wantFail: "COPY on line 3 copies main, which is built for linux/arm64"},
		{name: "the fix is named", spec: spec(study), nodes: fixedNodes{"linux/amd64"}, wantFail: "GOOS=linux GOARCH=amd64"},
		{name: "built for the platform", spec: func() Spec { s := spec(study); s.Platform = "linux/arm64"; return s }()},
		{name: "opted out", spec: func() Spec { s := spec(study); s.SkipArchitectureCheck = true; return s }(), nodes: fixedNodes{"linux/amd64"}},
		{name: "no platform known", spec: spec(study), nodes: fixedNodes{"linux/amd64", "linux/arm64"}},
		{name: "a file not copied", spec: spec(map[string]string{"Dockerfile": "FROM b\nCOPY conf /etc/\n", "conf": "x", "tools/arm": arm64}), nodes: fixedNodes{"linux/amd64"}},
		{name: "a script", spec: spec(map[string]string{"Dockerfile": "FROM b\nCOPY . /app/\n", "run.sh": "#!/bin/sh\necho hi\n"}), nodes: fixedNodes{"linux/amd64"}},
		{name: "each platform's own binary", spec: func() Spec {
			s := spec(map[string]string{"Dockerfile": "FROM b\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/main /app/\n", "bin/amd64/main": amd64, "bin/arm64/main": arm64})
			s.Platforms = []string{"linux/amd64", "linux/arm64"}
			return s
		}()},
		{name: "one binary for two platforms", spec: func() Spec {
			s := spec(map[string]string{"Dockerfile": "FROM b\nCOPY main /app/\n", "main": amd64})
			s.Platforms = []string{"linux/amd64", "linux/arm64"}
			return s
		}(), wantFail: "not linux/arm64"},
		{name: "a Mach-O binary never runs on Linux", spec: spec(map[string]string{"Dockerfile": "FROM b\nCOPY tool /usr/bin/\n",
			"tool": "\xcf\xfa\xed\xfe\x0c\x00\x00\x01\x00\x00\x00\x00\x02\x00\x00\x00" + strings.Repeat("\x00", 16)}), nodes: fixedNodes{"linux/amd64"}, wantFail: "darwin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inner := &fakeExecutor{name: ExecutorDirect}
			c := CheckArchitecture{Nodes: tt.nodes, Next: inner}
			_, planErr := c.Plan(context.Background(), tt.spec)
			snapped, cleanup, err := TakeSnapshot(context.Background(), tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			res, buildErr := c.Build(context.Background(), snapped)
			for name, err := range map[string]error{"plan": planErr, "build": buildErr} {
				var f *Failure
				switch {
				case tt.wantFail == "" && err != nil:
					t.Errorf("%s: %v", name, err)
				case tt.wantFail != "" && (!errors.As(err, &f) || f.Reason != ReasonArchitecture || !strings.Contains(err.Error(), tt.wantFail)):
					t.Errorf("%s: err = %v, want an architecture mismatch saying %q", name, err, tt.wantFail)
				}
			}
			if tt.wantFail != "" && inner.built != 0 {
				t.Error("the build ran after the check failed")
			}
			if _, ok := res.Timings[PhaseArchitectureCheck]; !ok {
				t.Error("the check's time is not in the timings")
			}
		})
	}
}
