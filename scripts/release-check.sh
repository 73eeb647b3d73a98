#!/usr/bin/env bash
# Checks .goreleaser.yml with goreleaser's own check and makes a local
# snapshot release into dist/ (signing skipped: the key lives in the
# release workflow), then verifies the registry layout: a zip per
# platform holding terraform-provider-onesbuild_v<version>, and a
# SHA256SUMS that lists every zip and the manifest. goreleaser is built
# from the Go module proxy (version pinned in tools/release) and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(cd tools/release && go list -m -f '{{.Version}}' github.com/goreleaser/goreleaser/v2)
bin="${ONESBUILD_CACHE:-$HOME/.cache/onesbuild}/bin/goreleaser-$version/goreleaser"
if [ ! -x "$bin" ]; then
  echo "== building goreleaser $version (cached in $bin)"
  (cd tools/release && go build -o "$bin" github.com/goreleaser/goreleaser/v2)
fi
echo "== goreleaser check"
"$bin" check
echo "== goreleaser snapshot release"
"$bin" release --snapshot --clean --skip=sign,publish
sums=$(ls dist/*_SHA256SUMS)
zips=$(ls dist/*.zip | wc -l)
echo "== $zips zips, $(wc -l < "$sums") lines in $(basename "$sums")"
grep -q '_manifest.json$' "$sums" || { echo "SHA256SUMS lacks the registry manifest" >&2; exit 1; }
for z in dist/*.zip; do
  grep -q "  $(basename "$z")$" "$sums" || { echo "SHA256SUMS lacks $(basename "$z")" >&2; exit 1; }
  listing=$(unzip -Z1 "$z")
  grep -q '^terraform-provider-onesbuild_v' <<<"$listing" || { echo "$z holds no provider binary" >&2; exit 1; }
done
(cd dist && sha256sum --quiet --ignore-missing -c "$(basename "$sums")")
echo "== release layout OK"
