package archcheck

import (
	"debug/macho"
	"encoding/binary"
	"io"
)

// Mach-O values debug/macho does not name.
const (
	machoMagicFat64   = 0xcafebabf
	machoTypeDylinker = macho.Type(7)
	cpuARM64_32       = macho.Cpu(0x0200000c) // watchOS: arm64 instructions, 32-bit pointers
	cpuSubtypeMask    = 0xff000000            // capability bits above the subtype proper
)

// maxFatArches tells a universal file's fat_header from a Java class file,
// which starts with the same 0xcafebabe: there the next word is the class
// file's version, at least 45 (JDK 1.0.2's major version) and often
// with a minor version in its upper half. A universal file holds a few
// architectures.
const maxFatArches = 44

func isMachO(head []byte) bool {
	le, be := binary.LittleEndian.Uint32(head), binary.BigEndian.Uint32(head)
	return le == macho.Magic32 || le == macho.Magic64 || be == macho.Magic32 || be == macho.Magic64 ||
		be == macho.MagicFat || be == machoMagicFat64
}

func identifyMachO(r io.ReaderAt, size int64, head []byte) (*Binary, error) {
	switch binary.BigEndian.Uint32(head) {
	case macho.MagicFat, machoMagicFat64:
		return identifyFat(r, size, head)
	}
	return machoThin(head)
}

// machoThin decodes a thin Mach-O header (macho.FileHeader's layout): nil
// when it is no executable.
func machoThin(head []byte) (*Binary, error) {
	if len(head) < 16 {
		return nil, malformed("Mach-O", "%d bytes, shorter than a Mach-O header", len(head))
	}
	b := &Binary{Format: FormatMachO, OS: "darwin"}
	var o binary.ByteOrder = binary.LittleEndian
	b.ByteOrder = LittleEndian
	magic := o.Uint32(head)
	if magic != macho.Magic32 && magic != macho.Magic64 {
		o, b.ByteOrder = binary.BigEndian, BigEndian
		magic = o.Uint32(head)
	}
	b.Class = 32
	if magic == macho.Magic64 {
		b.Class = 64
	}
	cpu, sub, typ := macho.Cpu(o.Uint32(head[4:])), o.Uint32(head[8:])&^cpuSubtypeMask, macho.Type(o.Uint32(head[12:]))
	switch typ {
	case macho.TypeExec, macho.TypeDylib, macho.TypeBundle, machoTypeDylinker:
	default:
		return nil, nil
	}
	b.Machine = uint32(cpu)
	switch cpu {
	case macho.Cpu386:
		b.Arch = "386"
	case macho.CpuAmd64:
		b.Arch = "amd64"
	case macho.CpuArm:
		b.Arch = "arm"
		// CPU_SUBTYPE_ARM_*: V6 6, V5TEJ 7, XSCALE 8, V7 9, V7F 10, V7S 11, V7K 12, V8 13.
		b.Variant = map[uint32]string{6: "v6", 7: "v5", 8: "v5", 9: "v7", 10: "v7", 11: "v7", 12: "v7", 13: "v8"}[sub]
	case macho.CpuArm64:
		b.Arch = "arm64"
	case macho.CpuPpc:
		b.Arch = "ppc"
	case macho.CpuPpc64:
		b.Arch = "ppc64"
	case cpuARM64_32:
		// Go has no name for it.
	}
	return b, nil
}

// identifyFat decodes a fat_header and its fat_arch (or fat_arch_64)
// entries, always big-endian, and the thin header of each slice.
func identifyFat(r io.ReaderAt, size int64, head []byte) (*Binary, error) {
	if len(head) < 8 {
		return nil, nil // too short to be either a universal file or a class file
	}
	n := binary.BigEndian.Uint32(head[4:])
	if n == 0 || n > maxFatArches {
		return nil, nil
	}
	entry := int64(20)
	if binary.BigEndian.Uint32(head) == machoMagicFat64 {
		entry = 32
	}
	table, err := readAt(r, size, 8, int64(n)*entry)
	if err != nil {
		return nil, err
	}
	if int64(len(table)) < int64(n)*entry {
		return nil, malformed("Mach-O", "universal header of %d architectures truncated at %d bytes", n, size)
	}
	b := &Binary{Format: FormatMachO, OS: "darwin"}
	for i := int64(0); i < int64(n); i++ {
		e := table[i*entry:]
		var off uint64
		if entry == 20 {
			off = uint64(binary.BigEndian.Uint32(e[8:]))
		} else {
			off = binary.BigEndian.Uint64(e[8:])
		}
		if off >= uint64(size) {
			return nil, malformed("Mach-O", "architecture %d at %d, beyond the file's %d bytes", i, off, size)
		}
		sh, err := readAt(r, size, int64(off), 16)
		if err != nil {
			return nil, err
		}
		if len(sh) < 4 || !isMachO(sh) || binary.BigEndian.Uint32(sh) == macho.MagicFat || binary.BigEndian.Uint32(sh) == machoMagicFat64 {
			continue // a static library's archive, say: not an executable
		}
		s, err := machoThin(sh)
		if err != nil {
			return nil, err
		}
		if s != nil {
			b.Slices = append(b.Slices, s)
		}
	}
	if len(b.Slices) == 0 {
		return nil, nil
	}
	return b, nil
}
