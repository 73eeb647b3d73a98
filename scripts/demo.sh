#!/usr/bin/env bash
# The main job, end to end: prepare the host, bring up the kind cluster and
# registry, build and install the provider locally, terraform apply
# examples/quickstart (Kaniko builds the study's image in the cluster and
# pushes it), run the built image in the cluster, print what happened.
# Rerunning it is fast: everything is reused, and an unchanged context is
# not rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
root=$(pwd)
say() { printf '\n== %s\n' "$*"; }

if ! timeout 10 docker version >/dev/null 2>&1 || ! docker info --format '{{.DefaultRuntime}}' >/dev/null 2>&1; then
  say "preparing the host (scripts/setup-host.sh)"
  scripts/setup-host.sh
fi

say "cluster and registry (make cluster-up)"
go run ./scripts/harness up
state=$(go run ./scripts/harness env)
field() { printf '%s' "$state" | sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }
kubeconfig=$(field kubeconfig)
kaniko_image=$(field kaniko_image)
host_registry=$(field host_registry)
node_registry=$(field node_registry)

say "building the provider and the study's hello server"
# Captured first: with set -e a failing harness stops here, where eval
# "$(...)" would hide the failure and run on without a CLI.
tf_env=$(go run ./scripts/harness terraform)
eval "$tf_env"
tf=$TF_ACC_TERRAFORM_PATH
# The demo's own working directory: a copy of examples/quickstart with
# its state next to it, so reruns find their state and the repository
# stays clean.
work="$root/.harness/demo"
project="$work/quickstart"
mkdir -p "$work/bin" "$project/app"
go build -o "$work/bin/terraform-provider-onesbuild" .
cp examples/quickstart/main.tf "$project/main.tf"
cp examples/quickstart/app/Dockerfile "$project/app/Dockerfile"
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$project/app/main" ./examples/quickstart/hello
write_dev_overrides "$work/terraformrc" "$work/bin"
export TF_CLI_CONFIG_FILE="$work/terraformrc"

say "$(basename "$tf") apply examples/quickstart (in $project)"
"$tf" -chdir="$project" apply -auto-approve -input=false -compact-warnings \
  -var "kubeconfig=$kubeconfig" -var "kaniko_image=$kaniko_image" -var "registry_from_host=$host_registry"

out() { "$tf" -chdir="$project" output -raw "$1"; }
digest=$(out digest)
image_ref=$(out image_ref)

say "running the built image in the cluster: $node_registry/new-image@$digest"
go run ./scripts/harness run "$node_registry/new-image@$digest" "Hello World" "Server started on port 8081"

say "result"
echo "image:   $image_ref"
echo "digest:  $digest"
echo "size:    $(out image_size_bytes) bytes (compressed)"
echo "timings of the last build (seconds):"
"$tf" -chdir="$project" output -json timings |
  tr -d '{}" \n' | tr ',' '\n' | sed 's/:/: /; s/^/  /'
echo
echo "State: $project/terraform.tfstate. Edit examples/quickstart/hello/main.go and rerun to see a rebuild."
