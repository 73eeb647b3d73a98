package build

import (
	"net/url"
	"sort"
	"strings"
)

// RedactURL removes what may carry credentials from a URL: the user
// information (https://user:token@host/...), the query string
// (presigned URLs) and the fragment (#token=...). What remains names
// the source without granting access to it. A string that does not
// parse as a URL is cut before its user information and at its first
// "?" and "#", so that nothing after them leaks.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && !URLHasCredentials(raw) {
		u.User = nil
		u.RawQuery, u.ForceQuery = "", false
		u.Fragment, u.RawFragment = "", ""
		return u.String()
	}
	s := raw
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	start := 0
	if j := strings.Index(s, "://"); j >= 0 {
		start = j + 3
	}
	if at := credentialsEnd(raw, start); at >= 0 {
		rest := raw[at+1:]
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest = rest[:i]
		}
		s = s[:start] + rest
	}
	return s
}

// URLHasCredentials reports whether a URL carries a user or password
// before its host. It reads the string, not a parse of it, so that a URL
// that does not parse (a password with "#" or "/" in it, a bad escape)
// is judged too: the text between "://" and the first "@" is user
// information unless a path starts before it without a ":" in front
// (an "@" in a path, as in https://host/@scope/pkg.tgz, is not). It errs
// on the side of secrecy: https://user:1234/pass@host is a host "user"
// with port 1234 to a URL parser and a password to the person who wrote
// it, so it counts; an "@" in a path after host:port is written %40.
func URLHasCredentials(raw string) bool {
	start := 0
	if j := strings.Index(raw, "://"); j >= 0 {
		start = j + 3
	}
	return credentialsEnd(raw, start) >= 0
}

// credentialsEnd returns the index of the "@" that ends user
// information in raw, or -1.
func credentialsEnd(raw string, start int) int {
	at := strings.Index(raw[start:], "@")
	if at < 0 {
		return -1
	}
	before := raw[start : start+at]
	slash := strings.Index(before, "/")
	switch {
	case slash < 0:
		return start + at // user[:password]@host, whatever the password holds
	case strings.HasSuffix(before, "/"):
		return -1 // a path segment that starts with "@": host:8443/@scope/pkg.tgz
	case strings.Contains(before[:slash], ":"):
		return start + at // user:pass/word@host, user:1234/word@host
	}
	return -1 // host/path@...
}

// URLRedactor returns a function that removes the secrets of a context
// URL (its user information, query and fragment, whole or alone) from
// any text: Kaniko's log lines and errors quote the URL they fetch.
func URLRedactor(raw string) func(string) string {
	if raw == "" {
		return func(s string) string { return s }
	}
	var secrets []string
	redacted := RedactURL(raw)
	if redacted != raw {
		secrets = append(secrets, raw)
	}
	if redacted != raw {
		// The URL as a query parameter of another (a redirect, a proxy).
		secrets = append(secrets, url.QueryEscape(raw))
	}
	if u, err := url.Parse(raw); err == nil {
		parts := []string{u.RawQuery, u.EscapedFragment(), u.Fragment}
		// Each value alone, raw and decoded: a log may reorder the
		// parameters or print them decoded.
		for _, pair := range strings.Split(u.RawQuery, "&") {
			_, value, _ := strings.Cut(pair, "=")
			parts = append(parts, value)
			if decoded, err := url.QueryUnescape(value); err == nil {
				parts = append(parts, decoded)
			}
		}
		for _, part := range parts {
			if len(part) >= 4 {
				secrets = append(secrets, part)
			}
		}
		if u.User != nil {
			secrets = append(secrets, u.User.String())
			if p, ok := u.User.Password(); ok && len(p) >= 4 {
				secrets = append(secrets, p)
			}
		}
	}
	// Longest first, so that a secret holding another is replaced whole.
	sort.SliceStable(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return func(s string) string {
		for _, secret := range secrets {
			if secret == raw {
				s = strings.ReplaceAll(s, secret, redacted)
				continue
			}
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
		return s
	}
}
