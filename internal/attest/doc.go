// Package attest writes down what a build made and from what, and attaches
// it to the image: an SBOM (SPDX 2.3 or CycloneDX JSON) read from the
// pushed image itself, so that both executors describe what is really
// there, and SLSA v1 provenance in an in-toto statement, from the build's
// specification and result. Documents carry no wall-clock time unless the
// build's own result does, so a reproducible build's attachments are
// reproducible too. They are attached as OCI referrers through the
// registry client, which never changes the image's digest.
package attest
