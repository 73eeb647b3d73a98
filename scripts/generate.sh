#!/usr/bin/env bash
# Formats examples/ and regenerates docs/ with tfplugindocs (pinned in
# tools/). The provider schema is exported with whichever CLI the harness
# finds (terraform, tofu, or OpenTofu built into the cache) through
# dev_overrides, so nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
root=$(pwd)
# Captured first: with set -e a failing harness stops here, where eval
# "$(...)" would hide the failure and run on without a CLI.
tf_env=$(go run ./scripts/harness terraform)
eval "$tf_env"
tf=$TF_ACC_TERRAFORM_PATH
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/config"
go build -o "$work/bin/terraform-provider-onesbuild" .
write_dev_overrides "$work/terraformrc" "$work/bin"
printf 'terraform {\n  required_providers {\n    onesbuild = { source = "onesbuild/onesbuild" }\n  }\n}\n' >"$work/config/main.tf"
# tfplugindocs looks the schema up under the provider's short name.
TF_CLI_CONFIG_FILE="$work/terraformrc" "$tf" -chdir="$work/config" providers schema -json 2>/dev/null |
  sed -E 's#"registry\.(terraform\.io|opentofu\.org)/onesbuild/onesbuild"#"onesbuild"#' >"$work/schema.json"
grep -q '"onesbuild"' "$work/schema.json" || { echo "generate: could not export the provider schema with $tf" >&2; exit 1; }
"$tf" fmt -recursive examples/ >/dev/null
cd tools
go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs generate \
  --provider-dir "$root" --provider-name onesbuild --providers-schema "$work/schema.json"
