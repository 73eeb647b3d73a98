package imageref

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

var (
	digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// ValidateDigest reports whether d is "sha256:" followed by 64 lower-case
// hex digits.
func ValidateDigest(d string) error {
	if !digestPattern.MatchString(d) {
		return fmt.Errorf("digest %q is not of the form sha256:<64 lower-case hex digits>", d)
	}
	return nil
}

// ValidateTag reports whether tag is a valid image tag.
func ValidateTag(tag string) error {
	if !tagPattern.MatchString(tag) {
		return fmt.Errorf("tag %q is not valid: use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag)
	}
	return nil
}

// ValidateRepository reports whether repo names a repository with an
// explicit registry host and no tag or digest, for example
// "registry.kube-system.svc.cluster.local:5000/team/app".
func ValidateRepository(repo string) error {
	if repo == "" {
		return fmt.Errorf("repository is empty")
	}
	if strings.Contains(repo, "@") {
		return fmt.Errorf("repository %q must not contain a digest (@sha256:...); digests are computed", repo)
	}
	if repo != strings.ToLower(repo) {
		return fmt.Errorf("repository %q must be lower case", repo)
	}
	if i := strings.LastIndex(repo, "/"); i >= 0 && strings.Contains(repo[i:], ":") {
		return fmt.Errorf("repository %q must not contain a tag; put tags in the tags argument", repo)
	}
	first, _, hasPath := strings.Cut(repo, "/")
	if !hasPath || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		return fmt.Errorf("repository %q must start with a registry host, for example registry.example.com/%s", repo, repo)
	}
	if _, err := name.NewRepository(repo, name.StrictValidation); err != nil {
		return fmt.Errorf("repository %q is not valid: %w", repo, err)
	}
	return nil
}

// Ref is an image reference pinned by digest.
type Ref struct {
	Repository string
	Digest     string
}

// String returns "<repository>@<digest>".
func (r Ref) String() string { return r.Repository + "@" + r.Digest }

// ParseRef parses "<repository>@sha256:<hex>", as used for import IDs.
func ParseRef(s string) (Ref, error) {
	repo, digest, ok := strings.Cut(s, "@")
	if !ok {
		return Ref{}, fmt.Errorf("%q is not of the form <repository>@sha256:<64 hex digits>", s)
	}
	if err := ValidateRepository(repo); err != nil {
		return Ref{}, err
	}
	if err := ValidateDigest(digest); err != nil {
		return Ref{}, err
	}
	return Ref{Repository: repo, Digest: digest}, nil
}

// Registry returns the registry host[:port] of a valid repository.
func Registry(repo string) string {
	host, _, _ := strings.Cut(repo, "/")
	return host
}
