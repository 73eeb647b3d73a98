// Package imageref validates and formats the image names the provider
// deals with: repositories, tags, digests (sha256:<64 hex>) and image
// references (<repository>@sha256:<64 hex>).
package imageref
