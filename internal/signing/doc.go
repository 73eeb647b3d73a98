// Package signing signs images with a cosign-format key, in process and
// with no transparency log (the clusters this provider builds for cannot
// reach one), and verifies such signatures. Signatures use cosign's own
// layout, a "simple signing" payload naming the image's digest stored in
// the image <repository>:sha256-<hex>.sig, so that `cosign verify --key
// ... --insecure-ignore-tlog` accepts what this package signs and this
// package accepts what cosign signs with a key.
package signing
