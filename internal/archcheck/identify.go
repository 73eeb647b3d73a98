package archcheck

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Formats of a Binary.
const (
	FormatELF   = "elf"
	FormatMachO = "mach-o"
	FormatPE    = "pe"
)

// Byte orders of a Binary.
const (
	LittleEndian = "little"
	BigEndian    = "big"
)

// ErrMalformed is wrapped by the error Identify returns for a file that
// starts with an executable's magic number but whose header is truncated
// or invalid.
var ErrMalformed = errors.New("malformed executable")

// Binary is what an executable file is built for.
type Binary struct {
	// Format is FormatELF, FormatMachO or FormatPE.
	Format string
	// OS is a GOOS name (linux, freebsd, darwin, windows, ...), or ""
	// when the file does not say (an ELF file with ELFOSABI_NONE and no ABI
	// note, which Check takes for Linux).
	OS string
	// Arch is a GOARCH name (amd64, arm64, arm, 386, ppc64le, ppc64,
	// s390x, riscv64, mips64le, mips64, mipsle, mips, loong64, or one of
	// go/build's reserved names such as amd64p32 for x32 or sparc64), or
	// "" for a machine Go has no name for; then Machine tells it.
	Arch string
	// Variant is the 32-bit ARM version (v5, v6, v7, v8, v9) when the
	// file tells it, else "".
	Variant string
	// Class is 32 or 64, the width of the file's addresses.
	Class int
	// ByteOrder is LittleEndian or BigEndian.
	ByteOrder string
	// Machine is the format's own machine number (ELF e_machine, Mach-O
	// cputype, PE Machine), for messages when Arch is "".
	Machine uint32
	// Slices are the executables of a universal (fat) Mach-O file, one per
	// architecture; then Arch, Variant, Class, ByteOrder and Machine are
	// unset, and the file runs where one of its slices does.
	Slices []*Binary
}

// Platform is where b runs as os/arch[/variant]: an ELF file that does not
// say its OS is linux, an architecture Go has no name for is the format's
// machine name, and a universal file lists its slices' platforms.
func (b *Binary) Platform() string {
	if len(b.Slices) > 0 {
		p := make([]string, len(b.Slices))
		for i, s := range b.Slices {
			p[i] = s.Platform()
		}
		return strings.Join(p, " and ")
	}
	os := b.OS
	if os == "" && b.Format == FormatELF {
		os = "linux"
	}
	arch := b.Arch
	if arch == "" {
		arch = b.machineName()
	}
	if b.Variant != "" {
		return os + "/" + arch + "/" + b.Variant
	}
	return os + "/" + arch
}

// String describes b like file(1) does, e.g. "ELF 64-bit little-endian
// arm64" or "Mach-O universal (amd64, arm64) for darwin".
func (b *Binary) String() string {
	s := b.kind()
	if len(b.Slices) > 0 {
		arches := make([]string, len(b.Slices))
		for i, sl := range b.Slices {
			arches[i] = sl.arch()
		}
		s += " (" + strings.Join(arches, ", ") + ")"
	} else {
		s += " " + b.arch()
	}
	if b.OS != "" {
		s += " for " + b.OS
	}
	return s
}

// kind is the format with its class and byte order, or "universal".
func (b *Binary) kind() string {
	name := map[string]string{FormatELF: "ELF", FormatMachO: "Mach-O", FormatPE: "PE"}[b.Format]
	if len(b.Slices) > 0 {
		return name + " universal"
	}
	return fmt.Sprintf("%s %d-bit %s-endian", name, b.Class, b.ByteOrder)
}

// arch is Arch[/Variant], or the machine's name.
func (b *Binary) arch() string {
	a := b.Arch
	if a == "" {
		a = b.machineName()
	}
	if b.Variant != "" {
		a += "/" + b.Variant
	}
	return a
}

// machineName names a machine Go has no name for: ELF's EM_ name, when
// debug/elf knows it (it writes another as a known one plus an offset,
// which would mislead), else the format's field and number.
func (b *Binary) machineName() string {
	switch b.Format {
	case FormatELF:
		if s := elf.Machine(b.Machine).String(); strings.HasPrefix(s, "EM_") && !strings.Contains(s, "+") {
			return s
		}
		return fmt.Sprintf("e_machine %d", b.Machine)
	case FormatMachO:
		return fmt.Sprintf("cputype %#x", b.Machine)
	}
	return fmt.Sprintf("machine %#x", b.Machine)
}

// headSize is what Identify reads of every file: enough for the magic
// numbers and an ELF64 header, the largest main header it decodes.
const headSize = 64

// Identify reads the headers of the file r of size bytes and returns what
// it is built for, or nil, nil when it is no executable of a known format
// (see the package documentation for what counts). It reads the first 64
// bytes of any file, and more only of an executable's headers. An error
// is a failed read or wraps ErrMalformed.
func Identify(r io.ReaderAt, size int64) (*Binary, error) {
	head, err := readAt(r, size, 0, headSize)
	if err != nil {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, []byte(elf.ELFMAG)):
		return identifyELF(r, size, head)
	case len(head) >= 4 && isMachO(head):
		return identifyMachO(r, size, head)
	case bytes.HasPrefix(head, []byte("MZ")):
		return identifyPE(r, size, head)
	}
	return nil, nil
}

// readAt reads n bytes at off, fewer when the file ends before.
func readAt(r io.ReaderAt, size, off, n int64) ([]byte, error) {
	if off < 0 || off >= size || n <= 0 {
		return nil, nil
	}
	n = min(n, size-off)
	buf := make([]byte, n)
	if got, err := r.ReadAt(buf, off); int64(got) < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %d bytes at %d: %w", n, off, err)
	}
	return buf, nil
}

func malformed(format, problem string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", format, fmt.Sprintf(problem, args...), ErrMalformed)
}
