package buildcontext

import (
	"io/fs"
	"syscall"
)

// statKeyOf: see stat_linux.go.
func statKeyOf(info fs.FileInfo) (statKey, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return statKey{}, false
	}
	return statKey{
		Size: st.Size, Inode: st.Ino, Device: uint64(st.Dev),
		ModifiedNs: st.Mtimespec.Nano(), ChangedNs: st.Ctimespec.Nano(),
	}, true
}
