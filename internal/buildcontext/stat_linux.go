package buildcontext

import (
	"io/fs"
	"syscall"
)

// statKeyOf is what a file's cached digest is valid for: the file at
// that path, of that size, last written and last changed (chmod, link,
// rename onto it) at those times, on that inode.
func statKeyOf(info fs.FileInfo) (statKey, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return statKey{}, false
	}
	return statKey{
		Size: st.Size, Inode: st.Ino, Device: uint64(st.Dev), //nolint:unconvert // Dev's width varies by architecture
		ModifiedNs: st.Mtim.Nano(), ChangedNs: st.Ctim.Nano(),
	}, true
}
