package archcheck

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkIdentify backs the claim that Identify is cheap enough to run
// on every file of a build context at plan time: a large file that is no
// executable costs one read of 64 bytes, an executable a few more.
func BenchmarkIdentify(b *testing.B) {
	text := bytes.Repeat([]byte("2025-01-01T00:00:00Z level=info msg=\"a line of a large log\"\n"), 4<<20/60)
	dir := b.TempDir()
	textPath := filepath.Join(dir, "app.log")
	if err := os.WriteFile(textPath, text, 0o644); err != nil {
		b.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	inMemory := map[string][]byte{
		"text-4MiB":     text,
		"elf-amd64-pie": elfFile(with(elf64(elf.EM_X86_64), func(s *elfSpec) { s.typ, s.notes = elf.ET_DYN, []elfNote{gnuABITag} })),
		"elf-arm-attribute": elfFile(with(elf32(elf.EM_ARM), func(s *elfSpec) {
			s.sections = []elfSection{{name: ".ARM.attributes", typ: shtARMAttributes, data: armAttributes(6, 10)}}
		})),
		"macho-universal": fatFile(machoFile(macho.CpuAmd64, 3, macho.TypeExec, true, false), machoFile(macho.CpuArm64, 0, macho.TypeExec, true, false)),
		"pe-amd64":        peFile(peSpec{machine: pe.IMAGE_FILE_MACHINE_AMD64, pe64: true}),
	}
	for _, name := range []string{"text-4MiB", "elf-amd64-pie", "elf-arm-attribute", "macho-universal", "pe-amd64"} {
		file := inMemory[name]
		b.Run(name, func(b *testing.B) {
			r := bytes.NewReader(file)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Identify(r, int64(len(file))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// From disk, each read a pread(2): the text file, and the test binary,
	// a real ELF executable of several megabytes.
	for name, path := range map[string]string{"file-text-4MiB": textPath, "file-test-binary": self} {
		b.Run(name, func(b *testing.B) {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			size, err := f.Seek(0, io.SeekEnd)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Identify(f, size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
