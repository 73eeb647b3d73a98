package buildcontext

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// dirFS is the directory tree at a root as an fs.FS that also lists
// directories, describes paths without following links, and reads link
// targets. It is os.DirFS without that one's check that names are valid
// UTF-8: Linux allows any bytes but "/" and NUL in a name, a context may
// hold such a file (unpacked from an old archive, say), and Docker sends
// it.
type dirFS string

var (
	_ fs.ReadDirFS  = dirFS("")
	_ fs.StatFS     = dirFS("")
	_ fs.ReadLinkFS = dirFS("")
)

// join returns the operating system's path of name, a slash-separated
// path inside the tree.
func (d dirFS) join(op, name string) (string, error) {
	if !validName(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return filepath.Join(string(d), filepath.FromSlash(name)), nil
}

// validName is fs.ValidPath but for the encoding: no empty, "." or ".."
// element, no leading or trailing slash; and no NUL, which no name holds.
func validName(name string) bool {
	if name == "." {
		return true
	}
	if strings.ContainsRune(name, 0) {
		return false
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return false
		}
	}
	return true
}

func (d dirFS) Open(name string) (fs.File, error) {
	p, err := d.join("open", name)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := d.join("readdir", name)
	if err != nil {
		return nil, err
	}
	return os.ReadDir(p)
}

func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	p, err := d.join("stat", name)
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}

func (d dirFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := d.join("lstat", name)
	if err != nil {
		return nil, err
	}
	return os.Lstat(p)
}

func (d dirFS) ReadLink(name string) (string, error) {
	p, err := d.join("readlink", name)
	if err != nil {
		return "", err
	}
	return os.Readlink(p)
}
