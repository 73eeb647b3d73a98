//go:build !linux && !darwin

package buildcontext

import "io/fs"

// statKeyOf: without a change time and an inode a cached digest cannot
// be trusted, so nothing is cached (see stat_linux.go).
func statKeyOf(fs.FileInfo) (statKey, bool) { return statKey{}, false }
