//go:build tools

// Package release pins goreleaser, which scripts/release-check.sh builds
// from the Go module proxy to check .goreleaser.yml and make a local
// snapshot release.
package release

import _ "github.com/goreleaser/goreleaser/v2"
