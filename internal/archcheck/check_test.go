package archcheck

import (
	"debug/elf"
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	amd64 := le64("amd64", elf.EM_X86_64)
	arm64 := le64("arm64", elf.EM_AARCH64)
	arm := elfBinary("arm", elf.EM_ARM, 32, LittleEndian)
	darwinArm64 := &Binary{Format: FormatMachO, OS: "darwin", Arch: "arm64", Class: 64, ByteOrder: LittleEndian}
	darwinAmd64 := &Binary{Format: FormatMachO, OS: "darwin", Arch: "amd64", Class: 64, ByteOrder: LittleEndian}
	universal := &Binary{Format: FormatMachO, OS: "darwin", Slices: []*Binary{darwinAmd64, darwinArm64}}
	windows := &Binary{Format: FormatPE, OS: "windows", Arch: "amd64", Class: 64, ByteOrder: LittleEndian}
	for _, tt := range []struct {
		name     string
		b        *Binary
		platform string
		wantErr  string // "": runs there
		wantFix  string
	}{
		{name: "not an executable", b: nil, platform: "linux/amd64"},
		{name: "amd64 on amd64", b: amd64, platform: "linux/amd64"},
		{name: "GNU/Linux OS ABI", b: withOS(amd64, "linux"), platform: "linux/amd64"},
		{name: "the study: arm64 on amd64", b: arm64, platform: "linux/amd64",
			wantErr: "built for linux/arm64 (ELF 64-bit little-endian), not linux/amd64",
			wantFix: "rebuild it for linux/amd64 (for Go: GOOS=linux GOARCH=amd64)"},
		{name: "amd64 on arm64", b: amd64, platform: "linux/arm64",
			wantErr: "built for linux/amd64 (ELF 64-bit little-endian), not linux/arm64",
			wantFix: "rebuild it for linux/arm64 (for Go: GOOS=linux GOARCH=arm64)"},
		{name: "i386 on amd64", b: elfBinary("386", elf.EM_386, 32, LittleEndian), platform: "linux/amd64",
			wantErr: "built for linux/386 (ELF 32-bit little-endian), not linux/amd64",
			wantFix: "rebuild it for linux/amd64 (for Go: GOOS=linux GOARCH=amd64)"},
		{name: "i386 on 386", b: elfBinary("386", elf.EM_386, 32, LittleEndian), platform: "linux/386"},
		{name: "x32 on amd64", b: elfBinary("amd64p32", elf.EM_X86_64, 32, LittleEndian), platform: "linux/amd64",
			wantErr: "built for linux/amd64p32 (ELF 32-bit little-endian), not linux/amd64"},
		{name: "arm on arm64", b: arm, platform: "linux/arm64",
			wantErr: "built for linux/arm (ELF 32-bit little-endian), not linux/arm64"},
		{name: "ppc64 on ppc64le", b: elfBinary("ppc64", elf.EM_PPC64, 64, BigEndian), platform: "linux/ppc64le",
			wantErr: "built for linux/ppc64 (ELF 64-bit big-endian), not linux/ppc64le"},
		{name: "s390x on s390x", b: elfBinary("s390x", elf.EM_S390, 64, BigEndian), platform: "linux/s390x"},
		{name: "unknown machine", b: le64("", elf.EM_IA_64), platform: "linux/amd64",
			wantErr: "built for linux/EM_IA_64 (ELF 64-bit little-endian), not linux/amd64"},
		{name: "FreeBSD on Linux", b: withOS(amd64, "freebsd"), platform: "linux/amd64",
			wantErr: "built for freebsd/amd64 (ELF 64-bit little-endian), not linux/amd64",
			wantFix: "rebuild it for linux/amd64 (for Go: GOOS=linux GOARCH=amd64)"},
		{name: "FreeBSD on FreeBSD", b: withOS(amd64, "freebsd"), platform: "freebsd/amd64"},
		{name: "Android on Linux", b: withOS(arm64, "android"), platform: "linux/arm64",
			wantErr: "built for android/arm64 (ELF 64-bit little-endian), not linux/arm64"},

		{name: "armv7 on arm/v6", b: withVariant(arm, "v7"), platform: "linux/arm/v6",
			wantErr: "built for linux/arm/v7 (ELF 32-bit little-endian), not linux/arm/v6",
			wantFix: "rebuild it for linux/arm/v6 (for Go: GOOS=linux GOARCH=arm GOARM=6)"},
		{name: "armv6 on arm/v7", b: withVariant(arm, "v6"), platform: "linux/arm/v7"},
		{name: "armv7 on arm, which is v7", b: withVariant(arm, "v7"), platform: "linux/arm"},
		{name: "armv8 on arm", b: withVariant(arm, "v8"), platform: "linux/arm",
			wantErr: "built for linux/arm/v8 (ELF 32-bit little-endian), not linux/arm",
			wantFix: "rebuild it for linux/arm (for Go: GOOS=linux GOARCH=arm GOARM=7)"},
		{name: "an arm version unknown is not checked", b: arm, platform: "linux/arm/v5"},
		{name: "an arm platform version not vN is not checked", b: withVariant(arm, "v7"), platform: "linux/arm/7"},
		{name: "amd64 level in the fix", b: arm64, platform: "linux/amd64/v3",
			wantErr: "built for linux/arm64 (ELF 64-bit little-endian), not linux/amd64/v3",
			wantFix: "rebuild it for linux/amd64/v3 (for Go: GOOS=linux GOARCH=amd64 GOAMD64=v3)"},

		{name: "Mach-O on Linux", b: darwinArm64, platform: "linux/arm64",
			wantErr: "built for darwin/arm64 (Mach-O 64-bit little-endian), not linux/arm64",
			wantFix: "rebuild it for linux/arm64 (for Go: GOOS=linux GOARCH=arm64)"},
		{name: "Mach-O on Darwin", b: darwinArm64, platform: "darwin/arm64"},
		{name: "universal on Linux", b: universal, platform: "linux/amd64",
			wantErr: "built for darwin/amd64 and darwin/arm64 (Mach-O universal), not linux/amd64"},
		{name: "universal on Darwin", b: universal, platform: "darwin/arm64"},
		{name: "PE on Linux", b: windows, platform: "linux/amd64",
			wantErr: "built for windows/amd64 (PE 64-bit little-endian), not linux/amd64",
			wantFix: "rebuild it for linux/amd64 (for Go: GOOS=linux GOARCH=amd64)"},
		{name: "PE on Windows", b: windows, platform: "windows/amd64"},
		{name: "amd64 Windows on arm64 Windows", b: windows, platform: "windows/arm64",
			wantErr: "built for windows/amd64 (PE 64-bit little-endian), not windows/arm64",
			wantFix: "rebuild it for windows/arm64 (for Go: GOOS=windows GOARCH=arm64)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.b, tt.platform)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var m *MismatchError
			if !errors.As(err, &m) {
				t.Fatalf("Check = %v, want a *MismatchError", err)
			}
			if m.Binary != tt.b || m.Platform != tt.platform {
				t.Errorf("MismatchError = %+v", m)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("Error =\n  %q\nwant\n  %q", err, tt.wantErr)
			}
			if tt.wantFix != "" && m.Fix() != tt.wantFix {
				t.Errorf("Fix =\n  %q\nwant\n  %q", m.Fix(), tt.wantFix)
			}
		})
	}
}

func TestCheckPlatformForm(t *testing.T) {
	b := le64("amd64", elf.EM_X86_64)
	for _, p := range []string{"", "linux", "linux/", "/amd64", "linux/amd64/", "linux/arm/v7/x"} {
		var m *MismatchError
		if err := Check(b, p); err == nil || errors.As(err, &m) {
			t.Errorf("Check(%q) = %v, want an error about its form", p, err)
		}
	}
	if got, want := (&MismatchError{Binary: b, Platform: "linux"}).Fix(), "rebuild it for linux"; got != want {
		t.Errorf("Fix = %q, want %q", got, want)
	}
}
