#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/:
#   manifest    every manifest under fixtures/manifests (good and bad) and
#               examples/quickstart/ml.toml, plus the generated ones below;
#   lock        canonical locks written by examples/via_chain.rs;
#   dockerfile  the same projects as `ml.toml NUL ml.lock`.
# The render-sample.* seeds are render.rs's unit-test sample (a CUDA
# runtime base with a devel builder), written once by hand from that test.
set -euo pipefail

fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
seeds="$fuzz/seeds"
mkdir -p "$seeds/manifest" "$seeds/lock" "$seeds/dockerfile"

for f in "$root"/fixtures/manifests/*/*.toml "$root"/examples/quickstart/ml.toml; do
  dir=$(basename "$(dirname "$f")")
  cp "$f" "$seeds/manifest/$dir-$(basename "$f")"
done

(cd "$root" && cargo build --example via_chain --quiet)
gen=${CARGO_TARGET_DIR:-$root/target}/debug/examples/via_chain
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for spec in "chain:--len 3" "profile:--len 5 --profile" "extras:--len 2 --profile --extras"; do
  name=${spec%%:*}
  # shellcheck disable=SC2086
  "$gen" ${spec#*:} "$work/$name"
  cp "$work/$name/ml.toml" "$seeds/manifest/via-$name.toml"
  cp "$work/$name/ml.lock" "$seeds/lock/via-$name.lock"
  { cat "$work/$name/ml.toml"; printf '\0'; cat "$work/$name/ml.lock"; } >"$seeds/dockerfile/via-$name"
done
ls "$seeds"/* | wc -l
