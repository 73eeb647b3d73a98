package archcheck

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"errors"
	"io"
	"reflect"
	"testing"
)

type identifyCase struct {
	name      string
	file      []byte
	want      *Binary // nil: no executable
	malformed bool
}

func elf64(m elf.Machine) elfSpec { return elfSpec{class: 64, typ: elf.ET_EXEC, machine: m} }
func elf32(m elf.Machine) elfSpec { return elfSpec{class: 32, typ: elf.ET_EXEC, machine: m} }

func with(s elfSpec, f func(*elfSpec)) elfSpec { f(&s); return s }

func le64(arch string, m elf.Machine) *Binary {
	return &Binary{Format: FormatELF, Arch: arch, Class: 64, ByteOrder: LittleEndian, Machine: uint32(m)}
}

func elfBinary(arch string, m elf.Machine, class int, order string) *Binary {
	return &Binary{Format: FormatELF, Arch: arch, Class: class, ByteOrder: order, Machine: uint32(m)}
}

func withOS(b *Binary, os string) *Binary     { c := *b; c.OS = os; return &c }
func withVariant(b *Binary, v string) *Binary { c := *b; c.Variant = v; return &c }

// gnuABITag is glibc's .note.ABI-tag: OS 0 (Linux), kernel 3.2.0.
var gnuABITag = elfNote{name: "GNU", typ: 1, desc: []byte{0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}}

func identifyCases() []identifyCase {
	arm := elf32(elf.EM_ARM)
	armBinary := elfBinary("arm", elf.EM_ARM, 32, LittleEndian)
	machoArm64 := machoFile(macho.CpuArm64, 0, macho.TypeExec, true, false)
	machoAmd64 := machoFile(macho.CpuAmd64, 3, macho.TypeExec, true, false)
	darwin := func(arch string, cpu macho.Cpu, class int, order, variant string) *Binary {
		return &Binary{Format: FormatMachO, OS: "darwin", Arch: arch, Variant: variant, Class: class, ByteOrder: order, Machine: uint32(cpu)}
	}
	windows := func(arch string, machine uint16, class int) *Binary {
		return &Binary{Format: FormatPE, OS: "windows", Arch: arch, Class: class, ByteOrder: LittleEndian, Machine: uint32(machine)}
	}
	fullELF64 := elfFile(elf64(elf.EM_X86_64))

	return []identifyCase{
		// Not executables.
		{name: "empty", file: nil},
		{name: "shell script", file: []byte("#!/bin/sh\nexec /app \"$@\"\n")},
		{name: "text", file: []byte("hello, world\n")},
		{name: "text starting with MZ", file: []byte("MZ is a postcode area in the north of England, long enough for e_lfanew to be letters.\n")},
		{name: "java class", file: []byte("\xca\xfe\xba\xbe\x00\x00\x00\x41\x00\x0a\x07\x00")},
		{name: "ar archive", file: []byte("!<arch>\n/               0           0     0     0       4         `\n")},
		{name: "gzip", file: []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")},
		{name: "ELF relocatable object", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) { s.typ = elf.ET_REL }))},
		{name: "eBPF object", file: elfFile(with(elf64(elf.EM_BPF), func(s *elfSpec) { s.typ = elf.ET_REL }))},
		{name: "ELF core dump", file: elfFile(with(elf64(elf.EM_AARCH64), func(s *elfSpec) { s.typ = elf.ET_CORE }))},
		{name: "Mach-O object", file: machoFile(macho.CpuArm64, 0, macho.TypeObj, true, false)},
		{name: "universal static library", file: fatFile([]byte("!<arch>\n"), []byte("!<arch>\n"))},
		{name: "DOS program", file: append([]byte("MZ"), make([]byte, 62)...)},
		{name: ".NET assembly", file: peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_I386, clr: true})},
		{name: "EFI application", file: peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_AMD64, pe64: true, subsystem: pe.IMAGE_SUBSYSTEM_EFI_APPLICATION})},
		{name: "PE not linked", file: peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_AMD64, pe64: true, characteristics: pe.IMAGE_FILE_LARGE_ADDRESS_AWARE})},

		// ELF executables and shared objects.
		{name: "static x86-64", file: fullELF64, want: le64("amd64", elf.EM_X86_64)},
		{name: "PIE x86-64 with glibc's ABI tag", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) {
			s.typ, s.notes = elf.ET_DYN, []elfNote{gnuABITag}
		})), want: withOS(le64("amd64", elf.EM_X86_64), "linux")},
		{name: "shared library aarch64", file: elfFile(with(elf64(elf.EM_AARCH64), func(s *elfSpec) { s.typ = elf.ET_DYN })), want: le64("arm64", elf.EM_AARCH64)},
		{name: "static aarch64", file: elfFile(elf64(elf.EM_AARCH64)), want: le64("arm64", elf.EM_AARCH64)},
		{name: "i386", file: elfFile(elf32(elf.EM_386)), want: elfBinary("386", elf.EM_386, 32, LittleEndian)},
		{name: "x32", file: elfFile(elf32(elf.EM_X86_64)), want: elfBinary("amd64p32", elf.EM_X86_64, 32, LittleEndian)},
		{name: "s390x", file: elfFile(with(elf64(elf.EM_S390), func(s *elfSpec) { s.big = true })), want: elfBinary("s390x", elf.EM_S390, 64, BigEndian)},
		{name: "ppc64", file: elfFile(with(elf64(elf.EM_PPC64), func(s *elfSpec) { s.big = true })), want: elfBinary("ppc64", elf.EM_PPC64, 64, BigEndian)},
		{name: "ppc64le", file: elfFile(elf64(elf.EM_PPC64)), want: le64("ppc64le", elf.EM_PPC64)},
		{name: "riscv64", file: elfFile(elf64(elf.EM_RISCV)), want: le64("riscv64", elf.EM_RISCV)},
		{name: "loong64", file: elfFile(elf64(elf.EM_LOONGARCH)), want: le64("loong64", elf.EM_LOONGARCH)},
		{name: "mips64le", file: elfFile(elf64(elf.EM_MIPS)), want: le64("mips64le", elf.EM_MIPS)},
		{name: "mips64", file: elfFile(with(elf64(elf.EM_MIPS), func(s *elfSpec) { s.big = true })), want: elfBinary("mips64", elf.EM_MIPS, 64, BigEndian)},
		{name: "mipsle", file: elfFile(elf32(elf.EM_MIPS)), want: elfBinary("mipsle", elf.EM_MIPS, 32, LittleEndian)},
		{name: "mips", file: elfFile(with(elf32(elf.EM_MIPS), func(s *elfSpec) { s.big = true })), want: elfBinary("mips", elf.EM_MIPS, 32, BigEndian)},
		{name: "mips n32", file: elfFile(with(elf32(elf.EM_MIPS), func(s *elfSpec) { s.flags = efMIPSABI2 })), want: elfBinary("mips64p32le", elf.EM_MIPS, 32, LittleEndian)},
		{name: "sparc64", file: elfFile(with(elf64(elf.EM_SPARCV9), func(s *elfSpec) { s.big = true })), want: elfBinary("sparc64", elf.EM_SPARCV9, 64, BigEndian)},
		{name: "a machine Go has no name for", file: elfFile(elf64(elf.EM_IA_64)), want: le64("", elf.EM_IA_64)},
		{name: "aarch64 big-endian", file: elfFile(with(elf64(elf.EM_AARCH64), func(s *elfSpec) { s.big = true })), want: elfBinary("arm64be", elf.EM_AARCH64, 64, BigEndian)},

		// The OS an ELF file says.
		{name: "OS ABI FreeBSD", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) { s.osabi = elf.ELFOSABI_FREEBSD })), want: withOS(le64("amd64", elf.EM_X86_64), "freebsd")},
		{name: "OS ABI GNU/Linux", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) { s.osabi = elf.ELFOSABI_LINUX })), want: withOS(le64("amd64", elf.EM_X86_64), "linux")},
		{name: "OS ABI Solaris", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) { s.osabi = elf.ELFOSABI_SOLARIS })), want: withOS(le64("amd64", elf.EM_X86_64), "solaris")},
		{name: "OS ABI ARM is no OS", file: elfFile(with(arm, func(s *elfSpec) { s.osabi = elf.ELFOSABI_ARM })), want: armBinary},
		{name: "OS ABI unknown", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) { s.osabi = 42 })), want: withOS(le64("amd64", elf.EM_X86_64), "elfosabi-42")},
		{name: "OpenBSD note", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) {
			s.typ, s.notes = elf.ET_DYN, []elfNote{{name: "OpenBSD", typ: 1, desc: []byte{0, 0, 0, 0}}}
		})), want: withOS(le64("amd64", elf.EM_X86_64), "openbsd")},
		{name: "NetBSD note after a build ID", file: elfFile(with(elf64(elf.EM_AARCH64), func(s *elfSpec) {
			s.notes = []elfNote{{name: "GNU", typ: 3, desc: bytes.Repeat([]byte{0xab}, 20)}, {name: "NetBSD", typ: 1, desc: []byte{0, 0, 0, 0}}}
		})), want: withOS(le64("arm64", elf.EM_AARCH64), "netbsd")},
		{name: "GNU ABI tag of GNU/kFreeBSD, big-endian", file: elfFile(with(elf64(elf.EM_PPC64), func(s *elfSpec) {
			s.big, s.notes = true, []elfNote{{name: "GNU", typ: 1, desc: []byte{0, 0, 0, 3, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0}}}
		})), want: withOS(elfBinary("ppc64", elf.EM_PPC64, 64, BigEndian), "freebsd")},
		{name: "Android note, 8-byte aligned", file: elfFile(with(elf64(elf.EM_AARCH64), func(s *elfSpec) {
			s.typ, s.noteAlign, s.notes = elf.ET_DYN, 8, []elfNote{{name: "Android", typ: 1, desc: []byte{30, 0, 0, 0}}}
		})), want: withOS(le64("arm64", elf.EM_AARCH64), "android")},
		{name: "Go build ID note says nothing", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) {
			s.notes = []elfNote{{name: "Go", typ: 4, desc: []byte("abcdefgh/ijklmnop")}}
		})), want: le64("amd64", elf.EM_X86_64)},
		{name: "a note running past its segment", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) {
			s.notes = []elfNote{{name: "GNU", typ: 1, desc: []byte{0, 0, 0, 0}}}
		}))[:64+56+12+4+2], want: le64("amd64", elf.EM_X86_64)},

		// 32-bit ARM versions.
		{name: "arm without attributes", file: elfFile(arm), want: armBinary},
		{name: "armv7 attributes", file: elfFile(with(arm, func(s *elfSpec) {
			s.sections = []elfSection{{name: ".ARM.attributes", typ: shtARMAttributes, data: armAttributes(5, '7', '-', 'A', 0, 6, 10, 7, 'A')}}
		})), want: withVariant(armBinary, "v7")},
		{name: "armv6 attributes (Raspberry Pi Zero)", file: elfFile(with(arm, func(s *elfSpec) {
			s.sections = []elfSection{{name: ".ARM.attributes", typ: shtARMAttributes, data: armAttributes(4, 'a', 'r', 'm', '1', '1', '7', '6', 'j', 'z', 'f', '-', 's', 0, 6, 7)}}
		})), want: withVariant(armBinary, "v6")},
		{name: "armv5te attributes", file: elfFile(with(arm, func(s *elfSpec) {
			s.sections = []elfSection{{name: ".ARM.attributes", typ: shtARMAttributes, data: armAttributes(6, 4, 8, 1)}}
		})), want: withVariant(armBinary, "v5")},
		{name: "armv8 attributes after Tag_compatibility", file: elfFile(with(arm, func(s *elfSpec) {
			s.sections = []elfSection{{name: ".ARM.attributes", typ: shtARMAttributes, data: armAttributes(32, 1, 'g', 'n', 'u', 0, 6, 14)}}
		})), want: withVariant(armBinary, "v8")},
		{name: "attributes of another vendor only", file: elfFile(with(arm, func(s *elfSpec) {
			s.sections = []elfSection{{name: ".ARM.attributes", typ: shtARMAttributes, data: []byte("A\x0f\x00\x00\x00gnu\x00\x01\x07\x00\x00\x00\x06\x0a")}}
		})), want: armBinary},
		{name: "Go GOARM=6", file: elfFile(with(arm, func(s *elfSpec) {
			s.sections = []elfSection{{name: ".text", typ: elf.SHT_PROGBITS, data: make([]byte, 16)}, {name: ".go.buildinfo", typ: elf.SHT_PROGBITS, data: goBuildinfo("build\tCGO_ENABLED=0\nbuild\tGOARCH=arm\nbuild\tGOARM=6\nbuild\tGOOS=linux\n")}}
		})), want: withVariant(armBinary, "v6")},
		{name: "Go GOARM=7,softfloat", file: elfFile(with(arm, func(s *elfSpec) {
			s.sections = []elfSection{{name: ".go.buildinfo", typ: elf.SHT_PROGBITS, data: goBuildinfo("build\tGOARCH=arm\nbuild\tGOARM=7,softfloat\n")}}
		})), want: withVariant(armBinary, "v7")},

		// Mach-O.
		{name: "Mach-O arm64", file: machoArm64, want: darwin("arm64", macho.CpuArm64, 64, LittleEndian, "")},
		{name: "Mach-O amd64 dylib", file: machoFile(macho.CpuAmd64, 3, macho.TypeDylib, true, false), want: darwin("amd64", macho.CpuAmd64, 64, LittleEndian, "")},
		{name: "Mach-O ppc, big-endian", file: machoFile(macho.CpuPpc, 0, macho.TypeExec, false, true), want: darwin("ppc", macho.CpuPpc, 32, BigEndian, "")},
		{name: "Mach-O armv7 bundle", file: machoFile(macho.CpuArm, 9, macho.TypeBundle, false, false), want: darwin("arm", macho.CpuArm, 32, LittleEndian, "v7")},
		{name: "universal amd64 and arm64", file: fatFile(machoAmd64, machoArm64), want: &Binary{Format: FormatMachO, OS: "darwin", Slices: []*Binary{
			darwin("amd64", macho.CpuAmd64, 64, LittleEndian, ""), darwin("arm64", macho.CpuArm64, 64, LittleEndian, ""),
		}}},
		{name: "universal with an object slice", file: fatFile(machoFile(macho.CpuAmd64, 3, macho.TypeObj, true, false), machoArm64), want: &Binary{Format: FormatMachO, OS: "darwin", Slices: []*Binary{
			darwin("arm64", macho.CpuArm64, 64, LittleEndian, ""),
		}}},

		// PE.
		{name: "PE32+ amd64", file: peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_AMD64, pe64: true}), want: windows("amd64", pe.IMAGE_FILE_MACHINE_AMD64, 64)},
		{name: "PE32 i386 DLL", file: peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_I386, characteristics: pe.IMAGE_FILE_EXECUTABLE_IMAGE | pe.IMAGE_FILE_DLL}), want: windows("386", pe.IMAGE_FILE_MACHINE_I386, 32)},
		{name: "PE32+ arm64", file: peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_ARM64, pe64: true}), want: windows("arm64", pe.IMAGE_FILE_MACHINE_ARM64, 64)},

		// Malformed: an executable's magic, a header cut short.
		{name: "ELF magic only", file: []byte("\x7fELF"), malformed: true},
		{name: "ELF e_ident cut", file: []byte("\x7fELF\x02\x01\x01"), malformed: true},
		{name: "ELF64 header cut", file: fullELF64[:40], malformed: true},
		{name: "ELF32 header cut", file: elfFile(elf32(elf.EM_386))[:51], malformed: true},
		{name: "ELF class 3", file: append([]byte("\x7fELF\x03\x01\x01"), make([]byte, 57)...), malformed: true},
		{name: "ELF data encoding 0", file: append([]byte("\x7fELF\x02\x00\x01"), make([]byte, 57)...), malformed: true},
		{name: "Mach-O header cut", file: machoArm64[:10], malformed: true},
		{name: "universal table cut", file: fatFile(machoAmd64, machoArm64)[:30], malformed: true},
		{name: "universal slice beyond the file", file: fatFile(machoAmd64)[:28], malformed: true},
		{name: "PE COFF header cut", file: peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_AMD64})[:64+4+10], malformed: true},
		{name: "PE optional header magic", file: func() []byte {
			b := peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_AMD64})
			b[64+4+20] = 0x07 // 0x107, a ROM image
			return b
		}(), malformed: true},
	}
}

func TestIdentify(t *testing.T) {
	for _, tt := range identifyCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Identify(bytes.NewReader(tt.file), int64(len(tt.file)))
			if tt.malformed {
				if !errors.Is(err, ErrMalformed) || got != nil {
					t.Fatalf("Identify = %v, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Identify: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Identify =\n  %#v\nwant\n  %#v", got, tt.want)
			}
		})
	}
}

// countingReader records the end of the farthest read.
type countingReader struct {
	r   io.ReaderAt
	end int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.end = max(c.end, off+int64(len(p)))
	return c.r.ReadAt(p, off)
}

// zeros is a file of any size that holds text's bytes, then zeros.
type zeros struct{ text []byte }

func (z zeros) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(z.text)) {
		copy(p, z.text[off:])
	}
	return len(p), nil
}

func TestIdentifyReadsHeadersOnly(t *testing.T) {
	const huge = 1 << 40
	for _, tt := range []struct {
		name    string
		file    []byte
		maxRead int64
	}{
		{name: "text", file: []byte("a large log file\n"), maxRead: headSize},
		{name: "ELF", file: elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) { s.notes = []elfNote{gnuABITag} })), maxRead: headSize + 56 + 32},
		{name: "PE", file: peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_AMD64, pe64: true}), maxRead: 64 + 24 + optMaxSize},
		{name: "universal", file: fatFile(machoFile(macho.CpuArm64, 0, macho.TypeExec, true, false)), maxRead: 64},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{r: zeros{tt.file}}
			if _, err := Identify(r, huge); err != nil {
				t.Fatal(err)
			}
			if r.end > tt.maxRead {
				t.Errorf("read up to byte %d of a %d-byte file, want at most %d", r.end, int64(huge), tt.maxRead)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestIdentifyReadError(t *testing.T) {
	if _, err := Identify(failingReader{}, 100); err == nil || errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want the read error", err)
	}
	// A file shorter than its stated size is a read error too, not a
	// malformed file: the caller's size and file disagree.
	file := elfFile(elf64(elf.EM_X86_64))
	if _, err := Identify(bytes.NewReader(file[:20]), int64(len(file))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestBinaryString(t *testing.T) {
	for _, tt := range []struct {
		b             *Binary
		str, platform string
	}{
		{le64("arm64", elf.EM_AARCH64), "ELF 64-bit little-endian arm64", "linux/arm64"},
		{withOS(le64("amd64", elf.EM_X86_64), "freebsd"), "ELF 64-bit little-endian amd64 for freebsd", "freebsd/amd64"},
		{withVariant(elfBinary("arm", elf.EM_ARM, 32, LittleEndian), "v7"), "ELF 32-bit little-endian arm/v7", "linux/arm/v7"},
		{le64("", elf.EM_IA_64), "ELF 64-bit little-endian EM_IA_64", "linux/EM_IA_64"},
		{&Binary{Format: FormatMachO, OS: "darwin", Slices: []*Binary{
			{Format: FormatMachO, OS: "darwin", Arch: "amd64", Class: 64, ByteOrder: LittleEndian},
			{Format: FormatMachO, OS: "darwin", Arch: "arm64", Class: 64, ByteOrder: LittleEndian},
		}}, "Mach-O universal (amd64, arm64) for darwin", "darwin/amd64 and darwin/arm64"},
		{&Binary{Format: FormatELF, Class: 32, ByteOrder: BigEndian, Machine: 999}, "ELF 32-bit big-endian e_machine 999", "linux/e_machine 999"},
		{&Binary{Format: FormatMachO, OS: "darwin", Class: 64, ByteOrder: LittleEndian, Machine: uint32(cpuARM64_32)}, "Mach-O 64-bit little-endian cputype 0x200000c for darwin", "darwin/cputype 0x200000c"},
		{&Binary{Format: FormatPE, OS: "windows", Class: 64, ByteOrder: LittleEndian, Machine: 0x200}, "PE 64-bit little-endian machine 0x200 for windows", "windows/machine 0x200"},
	} {
		if got := tt.b.String(); got != tt.str {
			t.Errorf("String = %q, want %q", got, tt.str)
		}
		if got := tt.b.Platform(); got != tt.platform {
			t.Errorf("Platform = %q, want %q", got, tt.platform)
		}
	}
}
