package testcluster

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// removeTree deletes a work directory, first unmounting whatever is
// mounted under it: a debootstrap or chroot interrupted by Ctrl-C leaves
// proc and sys mounted there, and RemoveAll would fail on them (or worse,
// descend into them).
func removeTree(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for _, m := range mountsUnder(abs) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting %s left behind under %s: %w", m, abs, err)
		}
	}
	return os.RemoveAll(abs)
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		// Mount points escape spaces as \040.
		p := strings.ReplaceAll(fields[1], `\040`, " ")
		if p == dir || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// workDir makes a fresh work directory for one step of this process, so
// that two harness runs (a demo started during a test run) never share
// one. cleanup removes it, mounts and all.
func (c Cache) workDir(name string) (string, func(), error) {
	parent := c.Path("work")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(parent, name+"-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = removeTree(dir) }, nil
}

// locks serialise the building of one cache entry: within this process
// by a mutex (so the Kubernetes build asked for by five images runs
// once), across processes by an exclusive flock on a file beside it.
var (
	locksMu sync.Mutex
	locks   = map[string]*sync.Mutex{}
)

// lockEntry holds the lock of a cache entry until unlock is called.
func lockEntry(dir string) (unlock func(), err error) {
	locksMu.Lock()
	mu, ok := locks[dir]
	if !ok {
		mu = &sync.Mutex{}
		locks[dir] = mu
	}
	locksMu.Unlock()
	mu.Lock()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		mu.Unlock()
		return nil, err
	}
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		mu.Unlock()
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		mu.Unlock()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		mu.Unlock()
	}, nil
}
