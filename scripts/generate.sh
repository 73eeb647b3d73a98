#!/usr/bin/env bash
# Formats examples/ and regenerates docs/ with tfplugindocs (tools/).
# tfplugindocs runs "terraform"; when only OpenTofu is available, it is
# offered under that name.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(go run ./scripts/harness terraform)"
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
ln -s "$TF_ACC_TERRAFORM_PATH" "$shim/terraform"
export PATH="$shim:$PATH"
cd tools
go generate -tags generate ./...
