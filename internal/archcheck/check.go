package archcheck

import (
	"fmt"
	"strconv"
	"strings"
)

// MismatchError says that a file is built for another platform than the
// image's.
type MismatchError struct {
	// Binary is what the file is built for.
	Binary *Binary
	// Platform is the image's platform, as given to Check.
	Platform string
}

// Error names what the file is built for and the platform, for example
// "built for linux/arm64 (ELF 64-bit little-endian), not linux/amd64";
// the caller adds the file's path.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("built for %s (%s), not %s", e.Binary.Platform(), e.Binary.kind(), e.Platform)
}

// Fix says how to make the file run on the platform, for any program and
// in Go's terms: "rebuild it for linux/amd64 (for Go: GOOS=linux
// GOARCH=amd64)", with GOARM for linux/arm, GOAMD64 for an amd64 level.
func (e *MismatchError) Fix() string {
	p, err := parsePlatform(e.Platform)
	if err != nil {
		return "rebuild it for " + e.Platform
	}
	env := "GOOS=" + p.os + " GOARCH=" + p.arch
	switch p.arch {
	case "arm":
		env += " GOARM=" + strings.TrimPrefix(p.armVariant(), "v")
	case "amd64":
		if p.variant != "" {
			env += " GOAMD64=" + p.variant
		}
	}
	return fmt.Sprintf("rebuild it for %s (for Go: %s)", e.Platform, env)
}

// Check returns nil when b runs on platform (os/arch[/variant], for
// example linux/amd64 or linux/arm/v7) or b is nil (no executable), a
// *MismatchError when it does not, and another error when platform is not
// of that form. The rules are in the package documentation.
func Check(b *Binary, platform string) error {
	if b == nil {
		return nil
	}
	p, err := parsePlatform(platform)
	if err != nil {
		return err
	}
	if !runs(b, p) {
		return &MismatchError{Binary: b, Platform: platform}
	}
	return nil
}

func runs(b *Binary, p platform) bool {
	if len(b.Slices) > 0 {
		for _, s := range b.Slices {
			if runs(s, p) {
				return true
			}
		}
		return false
	}
	os := b.OS
	if os == "" && b.Format == FormatELF {
		os = "linux" // ELFOSABI_NONE, what Linux's toolchains write
	}
	if os != p.os || b.Arch == "" || b.Arch != p.arch {
		return false
	}
	if b.Arch == "arm" && b.Variant != "" {
		// A core runs code for its own version and older ones.
		have, ok1 := armVersion(b.Variant)
		want, ok2 := armVersion(p.armVariant())
		return !ok1 || !ok2 || have <= want
	}
	return true
}

type platform struct{ os, arch, variant string }

func parsePlatform(s string) (platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || len(parts) == 3 && parts[2] == "" {
		return platform{}, fmt.Errorf("platform %q is not of the form os/arch[/variant]", s)
	}
	p := platform{os: parts[0], arch: parts[1]}
	if len(parts) == 3 {
		p.variant = parts[2]
	}
	return p, nil
}

// armVariant is the platform's ARM version: linux/arm alone is v7, as
// containerd normalizes it and as Go builds by default.
func (p platform) armVariant() string {
	if p.variant == "" {
		return "v7"
	}
	return p.variant
}

// armVersion is N of "vN".
func armVersion(v string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(v, "v"))
	return n, err == nil && strings.HasPrefix(v, "v")
}
