// Package direct is the build executor that needs no pod: for a
// Dockerfile that only copies files from the context onto a base image
// and sets configuration, it resolves the base image in its registry,
// turns each COPY into a layer made from the context snapshot, applies
// the configuration instructions, and pushes the manifest with
// go-containerregistry. Base layers are referenced, never downloaded or
// uploaded again: a base in the target registry is mounted across
// repositories, a base elsewhere has each missing layer streamed once
// from registry to registry.
//
// The result has the same meaning as Kaniko's from the same inputs (the
// same files, owners, modes and configuration; see the differential
// acceptance test) and is bit-for-bit reproducible: no wall-clock time
// enters the image.
//
// Files by concern: executor.go (Plan, Probe, Build and the registry
// credentials), dockerfile.go (eligibility, with BuildKit's parser),
// base.go (the base manifest for the build's platform), assemble.go (the
// instructions performed on the base's config and file tree), fs.go (a
// model of the image's file tree), copy.go (COPY and WORKDIR as Kaniko
// performs them), layer.go (deterministic layer archives), baseindex.go
// (the base image's file metadata, cached by digest), platform.go (the
// target and build platforms, and Kaniko's predefined platform
// arguments), layercache.go (layers computed at plan, kept for apply),
// push.go.
package direct
