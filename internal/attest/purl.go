package attest

import (
	"net/url"
	"strings"
)

// Package URLs (github.com/package-url/purl-spec) name what an SBOM
// lists in the form scanners match on.

func goPURL(m Module) string {
	return "pkg:golang/" + purlPath(m.Path) + "@" + url.PathEscape(m.Version)
}

func osPURL(p Package, distro string) string {
	s := "pkg:" + p.Type + "/" + distro + "/" + url.PathEscape(p.Name) + "@" + url.PathEscape(p.Version)
	var q []string
	if p.Architecture != "" {
		q = append(q, "arch="+url.QueryEscape(p.Architecture))
	}
	if p.Source != "" {
		q = append(q, "upstream="+url.QueryEscape(p.Source))
	}
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s
}

// ociPURL names an image by digest, with the repository it is in.
func ociPURL(repository, digest string) string {
	name := repository
	if i := strings.LastIndex(repository, "/"); i >= 0 {
		name = repository[i+1:]
	}
	return "pkg:oci/" + url.PathEscape(name) + "@" + url.PathEscape(digest) + "?repository_url=" + url.QueryEscape(repository)
}

func purlPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// distroOf names a package type's distribution namespace in package URLs.
func distroOf(typ string) string {
	if typ == "apk" {
		return "alpine"
	}
	return "debian"
}
