package archcheck

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"io"
)

// PE layout (the offsets of pe.FileHeader and pe.OptionalHeader32/64).
const (
	dosLfanew      = 0x3c // e_lfanew: where the PE signature is
	coffHeaderSize = 20
	// Offsets in the optional header.
	optSubsystem     = 68
	optNumRVA32      = 92 // NumberOfRvaAndSizes, then the data directories
	optNumRVA64      = 108
	optMaxSize       = 240 // pe.OptionalHeader64 with its 16 directories
	peMagic32        = 0x10b
	peMagic64        = 0x20b
	dataDirEntrySize = 8
)

var peMachineArch = map[uint16]string{
	pe.IMAGE_FILE_MACHINE_I386:        "386",
	pe.IMAGE_FILE_MACHINE_AMD64:       "amd64",
	pe.IMAGE_FILE_MACHINE_ARM:         "arm",
	pe.IMAGE_FILE_MACHINE_ARMNT:       "arm", // Thumb-2, which Windows requires of v7
	pe.IMAGE_FILE_MACHINE_ARM64:       "arm64",
	pe.IMAGE_FILE_MACHINE_RISCV64:     "riscv64",
	pe.IMAGE_FILE_MACHINE_LOONGARCH64: "loong64",
}

func identifyPE(r io.ReaderAt, size int64, head []byte) (*Binary, error) {
	// "MZ" is two printable letters a text file can start with; without a
	// DOS header that points at a PE signature the file is data, or a DOS
	// program, neither of which this package checks.
	if len(head) < dosLfanew+4 {
		return nil, nil
	}
	lfanew := int64(binary.LittleEndian.Uint32(head[dosLfanew:]))
	if lfanew >= size {
		return nil, nil
	}
	hdr, err := readAt(r, size, lfanew, 4+coffHeaderSize)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(hdr, []byte("PE\x00\x00")) {
		return nil, nil
	}
	if len(hdr) < 4+coffHeaderSize {
		return nil, malformed("PE", "COFF header truncated at %d bytes", size)
	}
	fh := hdr[4:]
	machine := binary.LittleEndian.Uint16(fh)
	optSize := int64(binary.LittleEndian.Uint16(fh[16:]))
	characteristics := binary.LittleEndian.Uint16(fh[18:])
	if characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
		return nil, nil // a failed link: nothing loads it
	}
	opt, err := readAt(r, size, lfanew+4+coffHeaderSize, min(optSize, optMaxSize))
	if err != nil {
		return nil, err
	}
	if len(opt) < optSubsystem+2 {
		return nil, malformed("PE", "optional header of %d bytes", len(opt))
	}
	b := &Binary{Format: FormatPE, OS: "windows", ByteOrder: LittleEndian, Machine: uint32(machine), Arch: peMachineArch[machine]}
	numRVA := optNumRVA32
	switch binary.LittleEndian.Uint16(opt) {
	case peMagic32:
		b.Class = 32
	case peMagic64:
		b.Class, numRVA = 64, optNumRVA64
	default:
		return nil, malformed("PE", "optional header magic %#x", binary.LittleEndian.Uint16(opt))
	}
	if machine == pe.IMAGE_FILE_MACHINE_ARMNT {
		b.Variant = "v7"
	}
	switch binary.LittleEndian.Uint16(opt[optSubsystem:]) {
	case pe.IMAGE_SUBSYSTEM_EFI_APPLICATION, pe.IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER,
		pe.IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER, pe.IMAGE_SUBSYSTEM_EFI_ROM:
		// Firmware runs it, no container: boot loaders and Linux kernels
		// with an EFI stub are in images to boot machines from.
		return nil, nil
	}
	// A CLR header makes the file a .NET assembly, whatever its Machine
	// (i386 for "any CPU"; ReadyToRun images for Linux even carry a
	// Machine XORed with an OS value): the .NET runtime runs it.
	clr := numRVA + 4 + pe.IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR*dataDirEntrySize
	if len(opt) >= numRVA+4 && binary.LittleEndian.Uint32(opt[numRVA:]) > pe.IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR &&
		len(opt) >= clr+dataDirEntrySize && binary.LittleEndian.Uint32(opt[clr:]) != 0 {
		return nil, nil
	}
	return b, nil
}
