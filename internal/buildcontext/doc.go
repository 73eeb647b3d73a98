// Package buildcontext turns a build context (a local directory or a map
// of generated files) into a deterministic tar stream and its SHA-256.
//
// The same inputs always give the same bytes: entries are sorted, owners
// and modification times are normalised, and the ignore file is applied
// the way Docker applies it: <Dockerfile>.dockerignore when it exists,
// else .dockerignore. That makes the hash usable at plan time to decide
// whether an image must be rebuilt: touching a file changes nothing,
// editing one changes the hash.
//
// The Dockerfile and the ignore file in use are always sent, with the
// symbolic links that lead to them, because the builder reads them; the
// Dockerfile is resolved through links inside the context only. What of
// those the ignore file excludes is sent only for the builder, and COPY
// must not copy it, as Kaniko does not (Entry.BuilderOnly). An inline
// Dockerfile comes with a generated ignore file that excludes both.
//
// A Snapshot archives a context once into a temporary file, which every
// later reader of a build uses: the hash in state, the stream to Kaniko,
// the direct executor's layers.
package buildcontext
