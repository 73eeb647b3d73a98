// Package archcheck tells whether a file copied into an image is an
// executable built for another platform than the image's, so that a plan
// can say so instead of a pod failing with "exec format error" (the
// feasibility study's first problem: a Go program built on arm64, copied
// into an image that ran on x86_64 nodes).
//
// Identify reads a file's headers and says what it is built for (a
// *Binary), or nil when it is no executable; Check compares a Binary
// with a target platform and returns a *MismatchError, whose Fix says how
// to rebuild it.
//
// # What counts as an executable
//
// ELF files of type ET_EXEC or ET_DYN (static and dynamic executables,
// position-independent executables, shared libraries: a shared library of
// another architecture fails when it is loaded just as an executable
// fails when it starts); Mach-O executables, dynamic libraries, bundles
// and dynamic linkers, thin or universal ("fat"); PE executables and DLLs.
// Not executables: scripts (#!: it is their interpreter that runs, a file
// checked on its own when it is copied), text and data, archives (.a),
// relocatable objects (ELF ET_REL, Mach-O MH_OBJECT: kernel modules and
// eBPF programs are ET_REL and are loaded, never executed, so they are
// never a mismatch), core dumps, DOS MZ files without a PE header, Java
// class files (which share 0xcafebabe with fat Mach-O files and are told
// apart by the count that follows), .NET assemblies (PE files with a CLR
// header: they run on the .NET runtime, which is what ships them to Linux
// images as .dll files), and PE EFI applications (boot loaders, Linux
// kernels with an EFI stub: firmware runs them, and images carry them to
// boot machines from).
//
// # Reading only headers
//
// Identify runs on every file of a build context at plan time, so it reads
// the first 64 bytes and stops there unless they start with a known magic
// number; then it reads the headers it needs and no code or data: the ELF
// program headers and note segments (for the OS), and for 32-bit ARM the
// section headers, their names and the one small section that tells the
// ARM architecture version. It decodes the headers itself, with the
// layouts and constants of debug/elf, debug/macho and debug/pe, rather
// than through macho.NewFile, macho.NewFatFile and pe.NewFile, which read
// the symbol and string tables too (for a Go hello world, 80 KB and a
// millisecond for Mach-O, 10 ms for PE, against a few microseconds here),
// or elf.NewFile, which reads every compressed section's header.
//
// A file that starts with an executable's magic number but whose main
// header is truncated or invalid is an error wrapping ErrMalformed:
// nothing runs it, and a plan should rather say so than guess. What is
// read beyond the main header only refines the answer (the OS from a note,
// the ARM variant); when it is missing or out of bounds it is ignored.
//
// # Rules
//
// A Binary runs on a platform os/arch[/variant] when its OS and
// architecture are the platform's:
//
//   - OS: an ELF file says its OS in EI_OSABI (FreeBSD, NetBSD, OpenBSD,
//     Solaris, ...) or in an ABI note (GNU's ABI tag, NetBSD, OpenBSD,
//     FreeBSD, DragonFly, Android); ELFOSABI_NONE (System V) and
//     ELFOSABI_GNU (binaries using GNU extensions such as IFUNC) are taken
//     for Linux unless a note says otherwise: Linux ignores the field,
//     and its toolchains write nothing else. Mach-O is Darwin and PE
//     is Windows: neither runs on Linux.
//   - Architecture: the machine, the class (32 or 64 bits) and the byte
//     order together give a GOARCH name, which must be the platform's. An
//     i386 binary is a mismatch on linux/amd64, although an amd64 kernel
//     built with 32-bit emulation runs it: emulation can be off
//     (ia32_emulation=0), a dynamic one needs i386 libraries the amd64
//     image does not have, and an image that says linux/amd64 should hold
//     amd64 code. 32-bit ARM on linux/arm64 is a mismatch for the same
//     reasons (and many arm64 cores cannot run AArch32 at all).
//   - ARM variant: a 32-bit ARM binary built for v7 does not run on
//     linux/arm/v6. The version comes from the ELF build attributes
//     (Tag_CPU_arch in .ARM.attributes, which GCC and Clang write) or,
//     for a Go binary, from GOARM in its build information (Go writes no
//     attributes). A platform linux/arm without a variant is v7, as
//     containerd reads it. When neither tells, the variant is not checked;
//     nor are the float ABI (armel and armhf) or amd64's microarchitecture
//     levels (GOAMD64=v3), which headers do not tell.
package archcheck
