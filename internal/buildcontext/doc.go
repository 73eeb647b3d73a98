// Package buildcontext turns a build context (a local directory or a map
// of generated files) into a deterministic tar stream and its SHA-256.
//
// The same inputs always give the same bytes: entries are sorted, owners
// and modification times are normalised, and .dockerignore is applied the
// way Docker applies it. That makes the hash usable at plan time to decide
// whether an image must be rebuilt: touching a file changes nothing,
// editing one changes the hash.
package buildcontext
