package archcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
)

// Bounds on what is read beyond the ELF header. Real files stay far
// below them (a dozen program headers, notes of a few dozen bytes, some
// forty sections, an ARM attributes section of under a hundred bytes, a
// Go build information of a few kilobytes); a file beyond them is read
// no further, and only loses the refinement.
const (
	maxProgs       = 256
	maxSections    = 1 << 10
	maxNoteSegment = 4 << 10
	maxSectionRead = 64 << 10
)

// shtARMAttributes is SHT_ARM_ATTRIBUTES (SHT_LOPROC+3), the ARM build
// attributes section, which debug/elf does not name.
const shtARMAttributes = elf.SectionType(0x70000003)

// efMIPSABI2 is EF_MIPS_ABI2, set in e_flags for the n32 ABI (64-bit
// registers, 32-bit pointers: ELFCLASS32 on a MIPS64 machine).
const efMIPSABI2 = 0x20

type elfHeader struct {
	class     int
	order     binary.ByteOrder
	le        bool
	typ       elf.Type
	machine   elf.Machine
	osabi     elf.OSABI
	flags     uint32
	phoff     uint64
	phentsize uint16
	phnum     uint16
	shoff     uint64 // section headers: read only for 32-bit ARM
	shentsize uint16
	shnum     uint16
	shstrndx  uint16
}

func identifyELF(r io.ReaderAt, size int64, head []byte) (*Binary, error) {
	if len(head) < elf.EI_NIDENT {
		return nil, malformed("ELF", "%d bytes, shorter than e_ident", len(head))
	}
	var h elfHeader
	switch elf.Class(head[elf.EI_CLASS]) {
	case elf.ELFCLASS32:
		h.class = 32
	case elf.ELFCLASS64:
		h.class = 64
	default:
		return nil, malformed("ELF", "class %d", head[elf.EI_CLASS])
	}
	b := &Binary{Format: FormatELF, Class: h.class}
	switch elf.Data(head[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		h.order, h.le, b.ByteOrder = binary.LittleEndian, true, LittleEndian
	case elf.ELFDATA2MSB:
		h.order, b.ByteOrder = binary.BigEndian, BigEndian
	default:
		return nil, malformed("ELF", "data encoding %d", head[elf.EI_DATA])
	}
	// The offsets are those of elf.Header32 and elf.Header64.
	o := h.order
	if h.class == 32 {
		if len(head) < 52 {
			return nil, malformed("ELF", "%d bytes, shorter than a 32-bit ELF header", len(head))
		}
		h.phoff = uint64(o.Uint32(head[28:]))
		h.flags = o.Uint32(head[36:])
		h.phentsize, h.phnum = o.Uint16(head[42:]), o.Uint16(head[44:])
		h.shoff = uint64(o.Uint32(head[32:]))
		h.shentsize, h.shnum, h.shstrndx = o.Uint16(head[46:]), o.Uint16(head[48:]), o.Uint16(head[50:])
	} else {
		if len(head) < 64 {
			return nil, malformed("ELF", "%d bytes, shorter than a 64-bit ELF header", len(head))
		}
		h.phoff = o.Uint64(head[32:])
		h.flags = o.Uint32(head[48:])
		h.phentsize, h.phnum = o.Uint16(head[54:]), o.Uint16(head[56:])
	}
	h.typ = elf.Type(o.Uint16(head[16:]))
	h.machine = elf.Machine(o.Uint16(head[18:]))
	h.osabi = elf.OSABI(head[elf.EI_OSABI])
	if h.typ != elf.ET_EXEC && h.typ != elf.ET_DYN {
		return nil, nil
	}
	b.Machine = uint32(h.machine)
	b.Arch = elfArch(h)
	b.OS = elfOSABI(h.osabi)
	if h.osabi == elf.ELFOSABI_NONE || h.osabi == elf.ELFOSABI_LINUX {
		if os := elfNoteOS(r, size, h); os != "" {
			b.OS = os
		}
	}
	if h.machine == elf.EM_ARM {
		b.Variant = armVariant(r, size, h)
	}
	return b, nil
}

// elfArch is the GOARCH name of a machine in a class and byte order, or
// "" when Go has none.
func elfArch(h elfHeader) string {
	le := h.le
	pick := func(little, big string) string {
		if le {
			return little
		}
		return big
	}
	switch c := h.class; h.machine {
	case elf.EM_386:
		if c == 32 && le {
			return "386"
		}
	case elf.EM_X86_64:
		if le {
			return map[int]string{64: "amd64", 32: "amd64p32"}[c] // amd64p32: x32
		}
	case elf.EM_ARM:
		if c == 32 {
			return pick("arm", "armbe")
		}
	case elf.EM_AARCH64:
		if c == 64 {
			return pick("arm64", "arm64be")
		}
	case elf.EM_PPC64:
		if c == 64 {
			return pick("ppc64le", "ppc64")
		}
	case elf.EM_PPC:
		if c == 32 && !le {
			return "ppc"
		}
	case elf.EM_S390:
		if !le {
			return map[int]string{64: "s390x", 32: "s390"}[c]
		}
	case elf.EM_RISCV:
		if le {
			return map[int]string{64: "riscv64", 32: "riscv"}[c]
		}
	case elf.EM_MIPS:
		switch {
		case c == 64:
			return pick("mips64le", "mips64")
		case h.flags&efMIPSABI2 != 0:
			return pick("mips64p32le", "mips64p32")
		default:
			return pick("mipsle", "mips")
		}
	case elf.EM_LOONGARCH:
		if c == 64 && le {
			return "loong64"
		}
	case elf.EM_SPARCV9:
		if c == 64 && !le {
			return "sparc64"
		}
	case elf.EM_SPARC, elf.EM_SPARC32PLUS:
		if c == 32 && !le {
			return "sparc"
		}
	}
	return ""
}

// elfOSABI is the GOOS-like name of EI_OSABI: "" for System V (which says
// nothing) and for the ARM values, which are ABIs that Linux binaries
// of the old ARM ABI carry, not operating systems.
func elfOSABI(a elf.OSABI) string {
	switch a {
	case elf.ELFOSABI_NONE, elf.ELFOSABI_ARM, 64 /* ELFOSABI_ARM_AEABI */ :
		return ""
	case elf.ELFOSABI_STANDALONE:
		return "standalone"
	}
	// debug/elf names the values it knows, and writes others as the
	// nearest name plus an offset ("ELFOSABI_CLOUDABI+25").
	if name, ok := strings.CutPrefix(a.String(), "ELFOSABI_"); ok && !strings.Contains(name, "+") {
		return strings.ToLower(name)
	}
	return "elfosabi-" + strconv.Itoa(int(a))
}

// elfNoteOS is the OS an ABI note in a PT_NOTE segment names, or "". Such
// notes are how NetBSD, OpenBSD, DragonFly and Android mark binaries that
// keep ELFOSABI_NONE, and how glibc's binaries say Linux.
func elfNoteOS(r io.ReaderAt, size int64, h elfHeader) string {
	minEnt := map[int]uint16{32: 32, 64: 56}[h.class]
	if h.phnum == 0 || h.phnum > maxProgs || h.phentsize < minEnt || h.phoff > uint64(size) {
		return ""
	}
	progs, err := readAt(r, size, int64(h.phoff), int64(h.phnum)*int64(h.phentsize))
	if err != nil || len(progs) < int(h.phnum)*int(h.phentsize) {
		return ""
	}
	o := h.order
	for i := 0; i < int(h.phnum); i++ {
		p := progs[i*int(h.phentsize):]
		if elf.ProgType(o.Uint32(p)) != elf.PT_NOTE {
			continue
		}
		var off, n, align uint64
		if h.class == 32 {
			off, n, align = uint64(o.Uint32(p[4:])), uint64(o.Uint32(p[16:])), uint64(o.Uint32(p[28:]))
		} else {
			off, n, align = o.Uint64(p[8:]), o.Uint64(p[32:]), o.Uint64(p[48:])
		}
		if n > maxNoteSegment || off > uint64(size) {
			continue
		}
		notes, err := readAt(r, size, int64(off), int64(n))
		if err != nil {
			continue
		}
		if os := noteOS(notes, o, align); os != "" {
			return os
		}
	}
	return ""
}

// noteOS walks the notes of one segment (namesz, descsz, type, then name
// and descriptor, each padded to the segment's alignment, 4 or 8).
func noteOS(notes []byte, o binary.ByteOrder, align uint64) string {
	if align != 8 {
		align = 4
	}
	pad := func(n uint64) uint64 { return (n + align - 1) &^ (align - 1) }
	for len(notes) >= 12 {
		namesz, descsz, typ := uint64(o.Uint32(notes)), uint64(o.Uint32(notes[4:])), o.Uint32(notes[8:])
		rest := uint64(len(notes) - 12)
		if namesz > rest || pad(namesz) > rest || descsz > rest-pad(namesz) {
			return ""
		}
		name := string(bytes.TrimRight(notes[12:12+namesz], "\x00"))
		desc := notes[12+pad(namesz) : 12+pad(namesz)+descsz]
		switch name {
		case "GNU":
			// NT_GNU_ABI_TAG: the OS word, then the minimum kernel version.
			if typ == 1 && len(desc) >= 4 {
				switch o.Uint32(desc) {
				case 0:
					return "linux"
				case 1:
					return "hurd"
				case 2:
					return "solaris"
				case 3:
					return "freebsd"
				}
			}
		case "NetBSD":
			return "netbsd"
		case "OpenBSD":
			return "openbsd"
		case "FreeBSD":
			return "freebsd"
		case "DragonFly":
			return "dragonfly"
		case "Android":
			if typ == 1 { // NT_ANDROID_IDENT: the API level
				return "android"
			}
		}
		next := 12 + pad(namesz) + pad(descsz)
		if next > uint64(len(notes)) {
			return ""
		}
		notes = notes[next:]
	}
	return ""
}

// armVariant is the ARM version a 32-bit ARM file needs, from its build
// attributes or, for a Go binary, from GOARM in its build information; ""
// when neither tells. It reads the section headers (about a kilobyte),
// the section names only when there are no attributes, and the one
// section wanted. (elf.NewFile would also read the compression header of
// every compressed debug section: ten times the time, for nothing.)
func armVariant(r io.ReaderAt, size int64, h elfHeader) string {
	const entSize = 40 // elf.Section32
	if h.class != 32 || h.shnum == 0 || h.shnum > maxSections || h.shentsize < entSize {
		return ""
	}
	table, err := readAt(r, size, int64(h.shoff), int64(h.shnum)*int64(h.shentsize))
	if err != nil || len(table) < int(h.shnum)*int(h.shentsize) {
		return ""
	}
	type section struct {
		name, off, size uint32
		typ             elf.SectionType
		flags           elf.SectionFlag
	}
	o := h.order
	sections := make([]section, h.shnum)
	for i := range sections {
		e := table[i*int(h.shentsize):]
		sections[i] = section{name: o.Uint32(e), typ: elf.SectionType(o.Uint32(e[4:])), flags: elf.SectionFlag(o.Uint32(e[8:])),
			off: o.Uint32(e[16:]), size: o.Uint32(e[20:])}
	}
	data := func(s section) []byte {
		if s.typ == elf.SHT_NOBITS || s.flags&elf.SHF_COMPRESSED != 0 {
			return nil
		}
		b, _ := readAt(r, size, int64(s.off), min(int64(s.size), maxSectionRead))
		return b
	}
	for _, s := range sections {
		if s.typ == shtARMAttributes {
			if v := attributesVariant(data(s)); v != "" {
				return v
			}
		}
	}
	if int(h.shstrndx) >= len(sections) {
		return ""
	}
	names := data(sections[h.shstrndx])
	const buildinfo = ".go.buildinfo\x00"
	for _, s := range sections {
		if s.typ == elf.SHT_PROGBITS && uint64(s.name)+uint64(len(buildinfo)) <= uint64(len(names)) &&
			string(names[s.name:s.name+uint32(len(buildinfo))]) == buildinfo {
			return goarmVariant(data(s))
		}
	}
	return ""
}

// cpuArchVariant maps Tag_CPU_arch values (the ARM ELF ABI's addenda) to
// the version an A-profile core needs; the M and R profiles are
// microcontrollers and real-time cores no Linux image targets, and get "".
var cpuArchVariant = map[uint64]string{
	0: "v5", 1: "v5", 2: "v5", 3: "v5", 4: "v5", 5: "v5", // pre-v4 .. v5TEJ: GOARM=5 is the oldest Go and OCI know
	6: "v6", 7: "v6", 8: "v6", 9: "v6", // v6, v6KZ, v6T2, v6K
	10: "v7",
	14: "v8",
	19: "v9",
}

// attributesVariant reads Tag_CPU_arch (6) from the file-scope attributes
// of the "aeabi" vendor: format 'A', then subsections of (length, vendor
// name, then sub-subsections of (tag, length, attributes)).
func attributesVariant(b []byte) string {
	if len(b) < 1 || b[0] != 'A' {
		return ""
	}
	b = b[1:]
	for len(b) >= 4 {
		n := binary.LittleEndian.Uint32(b)
		if n < 4 || uint64(n) > uint64(len(b)) {
			return ""
		}
		sub := b[4:n]
		b = b[n:]
		vendor, rest, ok := bytes.Cut(sub, []byte{0})
		if !ok || string(vendor) != "aeabi" {
			continue
		}
		for len(rest) >= 5 {
			tag, m := rest[0], binary.LittleEndian.Uint32(rest[1:])
			if m < 5 || uint64(m) > uint64(len(rest)) {
				return ""
			}
			attrs := rest[5:m]
			rest = rest[m:]
			if tag != 1 { // Tag_File; sections and symbols do not say what the file needs
				continue
			}
			if v, ok := cpuArch(attrs); ok {
				return cpuArchVariant[v]
			}
		}
	}
	return ""
}

// cpuArch finds Tag_CPU_arch in a list of (ULEB128 tag, value) pairs.
// Values are ULEB128 but for the strings of tags 4, 5, 65, 67 and odd tags
// above 32, and tag 32, a ULEB128 and a string.
func cpuArch(attrs []byte) (uint64, bool) {
	for len(attrs) > 0 {
		tag, n := uleb128(attrs)
		if n == 0 {
			return 0, false
		}
		attrs = attrs[n:]
		switch {
		case tag == 32:
			if _, n = uleb128(attrs); n == 0 {
				return 0, false
			}
			attrs = attrs[n:]
			fallthrough
		case tag == 4 || tag == 5 || tag == 67 || tag > 32 && tag%2 == 1:
			i := bytes.IndexByte(attrs, 0)
			if i < 0 {
				return 0, false
			}
			attrs = attrs[i+1:]
		default:
			v, n := uleb128(attrs)
			if n == 0 {
				return 0, false
			}
			if tag == 6 {
				return v, true
			}
			attrs = attrs[n:]
		}
	}
	return 0, false
}

// uleb128 decodes b's first value and how many bytes it took, 0 when b
// ends inside it or it overflows.
func uleb128(b []byte) (uint64, int) {
	var v uint64
	for i, c := range b {
		if i == 10 {
			return 0, 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// goarmVariant finds GOARM in the build settings of a .go.buildinfo
// section ("build\tGOARM=7\n", or "7,softfloat" since Go 1.22). Go
// before 1.18 recorded no settings; then the variant is not told.
func goarmVariant(b []byte) string {
	const key = "\tGOARM="
	i := bytes.Index(b, []byte(key))
	if i < 0 || i+len(key) >= len(b) {
		return ""
	}
	v := b[i+len(key)]
	if v < '5' || v > '7' {
		return ""
	}
	return "v" + strconv.Itoa(int(v-'0'))
}
