package archcheck

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
)

// Minimal, valid headers written with the standard library's layouts:
// what the tests, the fuzz seeds and the benchmarks identify.

type elfSpec struct {
	class     int // 32 or 64
	big       bool
	typ       elf.Type
	machine   elf.Machine
	osabi     elf.OSABI
	flags     uint32
	notes     []elfNote // in one PT_NOTE segment
	noteAlign uint64    // 4 unless set
	sections  []elfSection
}

type elfNote struct {
	name string
	typ  uint32
	desc []byte
}

type elfSection struct {
	name string
	typ  elf.SectionType
	data []byte
}

// elfFile lays out the header, one PT_NOTE program header and its notes,
// the sections' data with a .shstrtab, and the section headers.
func elfFile(s elfSpec) []byte {
	var o interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	data := elf.ELFDATA2LSB
	if s.big {
		o, data = binary.BigEndian, elf.ELFDATA2MSB
	}
	class := elf.ELFCLASS64
	ehsize, phentsize, shentsize := 64, 56, 64
	if s.class == 32 {
		class, ehsize, phentsize, shentsize = elf.ELFCLASS32, 52, 32, 40
	}
	align := s.noteAlign
	if align == 0 {
		align = 4
	}
	pad := func(b []byte) []byte {
		for uint64(len(b))%align != 0 {
			b = append(b, 0)
		}
		return b
	}
	var notes []byte
	for _, n := range s.notes {
		name := append([]byte(n.name), 0)
		notes = o.AppendUint32(notes, uint32(len(name)))
		notes = o.AppendUint32(notes, uint32(len(n.desc)))
		notes = o.AppendUint32(notes, n.typ)
		notes = pad(append(notes, name...))
		notes = pad(append(notes, n.desc...))
	}
	phnum := 0
	if len(notes) > 0 {
		phnum = 1
	}
	noteOff := ehsize + phnum*phentsize

	// Section data follows the notes; section 0 is the null section and
	// the last is .shstrtab.
	type placed struct {
		elfSection
		off, nameOff int
	}
	var secs []placed
	body := append([]byte(nil), notes...)
	shstrtab := []byte{0}
	if len(s.sections) > 0 {
		all := append(append([]elfSection(nil), s.sections...), elfSection{name: ".shstrtab", typ: elf.SHT_STRTAB})
		for i, sec := range all {
			p := placed{elfSection: sec, nameOff: len(shstrtab)}
			shstrtab = append(append(shstrtab, sec.name...), 0)
			if i == len(all)-1 {
				p.data = shstrtab
			}
			p.off = noteOff + len(body)
			body = append(body, p.data...)
			secs = append(secs, p)
		}
	}
	shoff := 0
	if len(secs) > 0 {
		for (noteOff+len(body))%8 != 0 {
			body = append(body, 0)
		}
		shoff = noteOff + len(body)
	}
	shnum := 0
	if len(secs) > 0 {
		shnum = len(secs) + 1
	}

	var b bytes.Buffer
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS], ident[elf.EI_DATA], ident[elf.EI_VERSION], ident[elf.EI_OSABI] = byte(class), byte(data), byte(elf.EV_CURRENT), byte(s.osabi)
	w := func(v any) {
		if err := binary.Write(&b, o, v); err != nil {
			panic(err)
		}
	}
	phoff := 0
	if phnum > 0 {
		phoff = ehsize
	}
	shstrndx := 0
	if shnum > 0 {
		shstrndx = shnum - 1
	}
	if s.class == 32 {
		w(elf.Header32{Ident: ident, Type: uint16(s.typ), Machine: uint16(s.machine), Version: uint32(elf.EV_CURRENT),
			Entry: 0x10000, Phoff: uint32(phoff), Shoff: uint32(shoff), Flags: s.flags, Ehsize: uint16(ehsize),
			Phentsize: uint16(phentsize), Phnum: uint16(phnum), Shentsize: uint16(shentsize), Shnum: uint16(shnum), Shstrndx: uint16(shstrndx)})
		if phnum > 0 {
			w(elf.Prog32{Type: uint32(elf.PT_NOTE), Off: uint32(noteOff), Filesz: uint32(len(notes)), Memsz: uint32(len(notes)), Flags: uint32(elf.PF_R), Align: uint32(align)})
		}
	} else {
		w(elf.Header64{Ident: ident, Type: uint16(s.typ), Machine: uint16(s.machine), Version: uint32(elf.EV_CURRENT),
			Entry: 0x400000, Phoff: uint64(phoff), Shoff: uint64(shoff), Flags: s.flags, Ehsize: uint16(ehsize),
			Phentsize: uint16(phentsize), Phnum: uint16(phnum), Shentsize: uint16(shentsize), Shnum: uint16(shnum), Shstrndx: uint16(shstrndx)})
		if phnum > 0 {
			w(elf.Prog64{Type: uint32(elf.PT_NOTE), Off: uint64(noteOff), Filesz: uint64(len(notes)), Memsz: uint64(len(notes)), Flags: uint32(elf.PF_R), Align: align})
		}
	}
	b.Write(body)
	if shnum > 0 {
		b.Write(make([]byte, shentsize)) // the null section
		for _, sec := range secs {
			if s.class == 32 {
				w(elf.Section32{Name: uint32(sec.nameOff), Type: uint32(sec.typ), Off: uint32(sec.off), Size: uint32(len(sec.data)), Addralign: 1})
			} else {
				w(elf.Section64{Name: uint32(sec.nameOff), Type: uint32(sec.typ), Off: uint64(sec.off), Size: uint64(len(sec.data)), Addralign: 1})
			}
		}
	}
	return b.Bytes()
}

// armAttributes is an .ARM.attributes section whose file scope holds the
// given (tag, value) bytes, ULEB128-encoded by the caller.
func armAttributes(attrs ...byte) []byte {
	file := append([]byte{1, 0, 0, 0, 0}, attrs...) // Tag_File and its length
	binary.LittleEndian.PutUint32(file[1:], uint32(len(file)))
	sub := append(append([]byte{0, 0, 0, 0}, "aeabi\x00"...), file...)
	binary.LittleEndian.PutUint32(sub, uint32(len(sub)))
	return append([]byte{'A'}, sub...)
}

// goBuildinfo is a .go.buildinfo section as Go 1.18 and later write it:
// the 32-byte header, then the version and the module information inline.
func goBuildinfo(settings string) []byte {
	b := append([]byte("\xff Go buildinf:"), 4, 2) // pointer size, flags: inline strings
	b = append(b, make([]byte, 32-len(b))...)
	version, modinfo := "go1.26.8", "path\thello\nmod\thello\t(devel)\t\n"+settings
	b = binary.AppendUvarint(b, uint64(len(version)))
	b = append(b, version...)
	b = binary.AppendUvarint(b, uint64(len(modinfo)))
	return append(b, modinfo...)
}

func machoFile(cpu macho.Cpu, subCpu uint32, typ macho.Type, is64, big bool) []byte {
	var o binary.ByteOrder = binary.LittleEndian
	if big {
		o = binary.BigEndian
	}
	h := macho.FileHeader{Magic: macho.Magic32, Cpu: cpu, SubCpu: subCpu, Type: typ}
	var b bytes.Buffer
	if is64 {
		h.Magic = macho.Magic64
	}
	if err := binary.Write(&b, o, h); err != nil {
		panic(err)
	}
	if is64 {
		b.Write(make([]byte, 4)) // reserved
	}
	return b.Bytes()
}

// fatFile is a universal file of the slices, each at a 16-byte boundary.
func fatFile(slices ...[]byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint32{macho.MagicFat, uint32(len(slices))})
	off := 8 + 20*len(slices)
	var body []byte
	for _, s := range slices {
		for (off+len(body))%16 != 0 {
			body = append(body, 0)
		}
		var cpu macho.Cpu
		if len(s) >= 8 && isMachO(s) {
			cpu = macho.Cpu(binary.LittleEndian.Uint32(s[4:]))
		}
		binary.Write(&b, binary.BigEndian, macho.FatArchHeader{Cpu: cpu, Offset: uint32(off + len(body)), Size: uint32(len(s)), Align: 4})
		body = append(body, s...)
	}
	b.Write(body)
	return b.Bytes()
}

type peSpec struct {
	machine         uint16
	pe64            bool
	characteristics uint16 // IMAGE_FILE_EXECUTABLE_IMAGE unless set
	subsystem       uint16 // IMAGE_SUBSYSTEM_WINDOWS_CUI unless set
	clr             bool   // a .NET assembly's CLR header
}

func peFile(s peSpec) []byte {
	dos := make([]byte, 64)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[dosLfanew:], 64)
	if s.characteristics == 0 {
		s.characteristics = pe.IMAGE_FILE_EXECUTABLE_IMAGE
	}
	if s.subsystem == 0 {
		s.subsystem = pe.IMAGE_SUBSYSTEM_WINDOWS_CUI
	}
	var dirs [16]pe.DataDirectory
	if s.clr {
		dirs[pe.IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR] = pe.DataDirectory{VirtualAddress: 0x2008, Size: 0x48}
	}
	var opt any = pe.OptionalHeader32{Magic: peMagic32, Subsystem: s.subsystem, NumberOfRvaAndSizes: 16, DataDirectory: dirs}
	optSize := 224
	if s.pe64 {
		opt, optSize = pe.OptionalHeader64{Magic: peMagic64, Subsystem: s.subsystem, NumberOfRvaAndSizes: 16, DataDirectory: dirs}, 240
	}
	var b bytes.Buffer
	b.Write(dos)
	b.WriteString("PE\x00\x00")
	binary.Write(&b, binary.LittleEndian, pe.FileHeader{Machine: s.machine, SizeOfOptionalHeader: uint16(optSize), Characteristics: s.characteristics})
	binary.Write(&b, binary.LittleEndian, opt)
	return b.Bytes()
}
