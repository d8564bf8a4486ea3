#!/usr/bin/env bash
# The quickstart, end to end: `mlr lock`, `mlr build`, `mlr verify`, then run
# the image. Docker Hub and GitHub are out of reach on many machines, so this
# script serves the base image from a registry on 127.0.0.1:5000 and the git
# source from a local repository, setting both up first (as root, it installs
# docker.io, docker-registry, busybox-static and git when they are missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/services.sh
source "$root/scripts/services.sh"

ensure_packages docker.io docker-registry busybox-static git curl
ensure_dockerd
ensure_registry 127.0.0.1:5000 /tmp/mlr-quickstart/registry

echo "== base image: busybox as 127.0.0.1:5000/mlr-examples/busybox:stable"
push_busybox_image 127.0.0.1:5000/mlr-examples/busybox:stable

echo "== git source: /tmp/mlr-quickstart/kernels.git (tag v1.0)"
src=/tmp/mlr-quickstart/kernels
if [ ! -d /tmp/mlr-quickstart/kernels.git ]; then
  rm -rf "$src" && mkdir -p "$src"
  git -C "$src" init -q -b main
  printf 'mkdir -p /opt/kernels\necho "kernels 1.0 built at commit $MLR_GIT_COMMIT" > /opt/kernels/VERSION\n' > "$src/build.sh"
  git -C "$src" add build.sh
  git -C "$src" -c user.name=mlr -c user.email=mlr@example.invalid commit -q -m "kernels 1.0"
  git -C "$src" tag v1.0
  git clone -q --bare "$src" /tmp/mlr-quickstart/kernels.git
fi

echo "== building mlr"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
mlr="$root/target/release/mlr"

cd "$here"
echo "== mlr lock"
"$mlr" lock
echo "== mlr build"
"$mlr" build --tag mlr-quickstart:latest
echo "== mlr verify"
"$mlr" verify
echo "== docker run mlr-quickstart:latest"
docker run --rm mlr-quickstart:latest
