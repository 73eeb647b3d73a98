package build

import (
	"fmt"
	"regexp"
	"strings"
)

var platformPattern = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)

// KnownPlatforms lists the os/arch pairs base images commonly provide; a
// platform outside it is most likely a typo.
var KnownPlatforms = map[string]bool{
	"linux/amd64": true, "linux/arm64": true, "linux/arm": true, "linux/386": true,
	"linux/ppc64le": true, "linux/s390x": true, "linux/riscv64": true, "linux/mips64le": true,
	"windows/amd64": true, "windows/arm64": true,
}

// ValidatePlatform reports whether platform is os/arch[/variant] with a
// known os/arch.
func ValidatePlatform(platform string) error {
	if !platformPattern.MatchString(platform) {
		return fmt.Errorf("platform %q is not of the form os/arch[/variant], for example linux/amd64", platform)
	}
	parts := strings.Split(platform, "/")
	if !KnownPlatforms[parts[0]+"/"+parts[1]] {
		return fmt.Errorf("platform %q is not a known os/arch (known: linux/amd64, linux/arm64, linux/arm, ...)", platform)
	}
	return nil
}
