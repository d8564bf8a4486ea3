#!/usr/bin/env bash
# Benchmark of `mlr build` (issue 5): a cold build and a warm rebuild after
# one pip change, with the ratio, side by side with a hand-written
# Dockerfile that installs the same pins with `uv pip install`, on the same
# engine in the same run.
#
#   scripts/bench-build.sh [--runs N] [--keep]
#
# The project: a Debian bookworm minbase image (debootstrap) pushed to a
# registry of the script's own on 127.0.0.1:5057, three apt packages and six
# pip packages from live PyPI (their dependencies make 17 wheels). Each run:
#
#   mlr:  fresh MLR_CACHE_DIR; mlr lock; mlr build --no-cache        (cold)
#         requests 2.32.3 -> 2.32.4 in ml.toml; mlr lock; mlr build   (warm)
#         mlr build again, nothing changed                            (no-op)
#   uv:   the same three builds of a plain Dockerfile (apt-get install,
#         COPY uv, uv pip install --require-hashes --no-deps) with
#         requirements.txt written from the same ml.lock, so both install
#         the same files.
#
# Runs alternate which side goes first. It prints every build's time per
# Dockerfile step, then a Markdown table of medians for the book
# (book/src/benchmarks.md, "Build speed"). Images are removed at the end
# unless --keep. Needs root (apt, dockerd), like examples/quickstart/run.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=services.sh
source "$root/scripts/services.sh"

runs=3
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--runs N] [--keep]" >&2; exit 2 ;;
  esac
done

registry=127.0.0.1:5057
base_ref=$registry/mlr-bench/debian:bookworm
rootfs=/var/cache/mlr-test/bookworm-rootfs
apt_packages=(git curl libgomp1)
pip_packages=(numpy==2.2.6 scipy==1.15.3 pandas==2.2.3 requests==2.32.3 rich==14.0.0 sympy==1.14.0)
change_from=requests==2.32.3
change_to=requests==2.32.4
tag="mlr-bench-build"

ensure_packages docker.io docker-registry debootstrap curl perl
ensure_dockerd
ensure_registry "$registry" /tmp/mlr-bench-build/registry
ensure_debian_rootfs "$rootfs"
if ! docker manifest inspect --insecure "$base_ref" >/dev/null 2>&1; then
  echo "== pushing $rootfs as $base_ref"
  tar -C "$rootfs" -c . | docker import - "$base_ref" >/dev/null
  docker push "$base_ref" >/dev/null
fi
# Both sides start with the base in the engine: no build times a pull.
docker pull -q "$base_ref" >/dev/null

echo "== building mlr (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
mlr=${CARGO_TARGET_DIR:-$root/target}/release/mlr

work=$(mktemp -d /tmp/mlr-bench-build.XXXXXX)
# Remove a side's images (warm first: it sits on the cold one's layers),
# and with them their untagged parents.
remove_images() {
  docker image rm "$tag:$1-warm" "$tag:$1-cold" >/dev/null 2>&1 || true
}
cleanup() {
  rm -rf "$work"
  if [ "$keep" = 0 ]; then remove_images mlr; remove_images uv; fi
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/^Mem:/ { print $2 " GB" }')"
echo "== $(docker version --format 'docker client {{.Client.Version}}, engine {{.Server.Version}}') (classic builder), $("$mlr" --version)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Print the time since $1 (seconds.nanoseconds) with two decimals.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# Run a build command with every output line stamped with the time, into
# LOG; print the elapsed seconds.
timed_build() {
  local log=$1 start; shift
  start=$(date +%s.%N)
  echo "$start START" >"$log"
  "$@" 2>&1 | perl -MTime::HiRes=time -ne '$| = 1; printf "%.3f %s", time, $_' >>"$log" ||
    { echo "build failed: $*; its log:" >&2; tail -n 40 "$log" >&2; return 1; }
  since "$start"
}

# Where a build's time went, from its stamped log: everything before the
# first step (mlr: downloads and the build context; both: sending the
# context to the engine), then each Dockerfile step that took 0.3 s or more.
breakdown() {
  awk '
    function flush(t) { if (name != "" && t - at >= 0.3) printf "    %6.1f s  %s\n", t - at, name }
    NR == 1 { start = $1; next }
    / Sending build context to Docker daemon/ { ctx = $NF }
    / Step [0-9]+\/[0-9]+ : / {
      if (name == "") printf "    %6.1f s  before step 1 (context %s)\n", $1 - start, ctx
      flush($1)
      at = $1
      line = $0; sub(/^[^ ]+ Step [0-9]+\/[0-9]+ : /, "", line)
      if (line ~ /apt-get download/) name = "RUN apt: download locked .debs, check sha256, install"
      else if (line ~ /python3 -m venv/ && line ~ /apt-get/) name = "RUN apt: python3 (+ packages), venv"
      else if (line ~ /python3 -m venv/) name = "RUN python3 from apt, venv"
      else if (line ~ /uv pip install/) name = "RUN uv pip install"
      else if (line ~ /pip install/) name = "RUN pip install"
      else if (line ~ /grep -q "\^/) name = "RUN create user"
      else name = substr(line, 1, 60)
    }
    { end = $1 }
    END { flush(end) }
  ' "$1"
}

# How many layers, bottom up, image $2 shares with image $1; and $2's count.
shared_layers() {
  local a b
  a=$(docker image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' "$1")
  b=$(docker image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' "$2")
  awk 'NR == FNR { a[FNR] = $0; next } $0 != "" { n++; if (!diverged && a[FNR] == $0) s++; else diverged = 1 } END { print s + 0 " of " n }' \
    <(printf '%s\n' "$a") <(printf '%s\n' "$b")
}

image_mb() { docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f", $1 / 1e6 }'; }

# A TOML array of strings.
toml_list() {
  local out="" p
  for p in "$@"; do out+="${out:+, }\"$p\""; done
  echo "[$out]"
}

# The manifest, with pip package $1 in place of $change_from.
write_manifest() {
  local pip=() p
  for p in "${pip_packages[@]}"; do
    [ "$p" = "$change_from" ] && p=$1
    pip+=("$p")
  done
  cat >"$work/mlr/ml.toml" <<TOML
[project]
name = "bench-build"

[base]
image = "$base_ref"

[python]
version = "3.11"

[apt]
packages = $(toml_list "${apt_packages[@]}")

[pip]
packages = $(toml_list "${pip[@]}")
TOML
}

# requirements.txt for the uv side from ml.lock: name==version with the
# sha256 of the file mlr locked for linux/amd64.
requirements_from_lock() {
  awk '
    /^\[\[/ { inpip = ($0 == "[[pip]]") }
    inpip && /^name = / { name = $3; gsub(/"/, "", name) }
    inpip && /^version = / { version = $3; gsub(/"/, "", version) }
    inpip && /platform = "linux\/amd64"/ {
      match($0, /sha256 = "[0-9a-f]+"/)
      print name "==" version " --hash=sha256:" substr($0, RSTART + 10, 64)
    }
  ' "$1"
}


uv_dockerfile() {
  cat <<DOCKERFILE
FROM $1
RUN apt-get update -q && \\
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv ${apt_packages[*]} && \\
    apt-get clean && rm -rf /var/lib/apt/lists/* && \\
    python3 -m venv /opt/venv
COPY uv /usr/local/bin/uv
COPY ca-certificates.crt /etc/ssl/certs/bench-ca-bundle.crt
COPY requirements.txt /tmp/requirements.txt
RUN SSL_CERT_FILE=/etc/ssl/certs/bench-ca-bundle.crt \\
    uv pip install --no-cache --python /opt/venv/bin/python --require-hashes --no-deps -r /tmp/requirements.txt
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:\$PATH
DOCKERFILE
}

results=$work/results.txt
: >"$results"
record() { echo "$1 $2" >>"$results"; }

run_mlr() {
  local i=$1 t
  remove_images mlr
  rm -rf "$work/mlr" "$work/cache" && mkdir -p "$work/mlr"
  export MLR_CACHE_DIR=$work/cache
  (
    cd "$work/mlr"
    write_manifest "$change_from"
    t=$(timed_build "$work/log-mlr-lock-$i" "$mlr" lock)
    echo "-- mlr lock (fresh cache): $t s"
    record mlr-lock "$t"
    requirements_from_lock ml.lock >"$work/requirements-a.txt"
    "$mlr" dockerfile | awk '/^FROM / { print $2; exit }' >"$work/base.txt"
    t=$(timed_build "$work/log-mlr-cold-$i" "$mlr" build --no-cache --tag "$tag:mlr-cold")
    echo "-- mlr build --no-cache (cold): $t s"
    breakdown "$work/log-mlr-cold-$i"
    record mlr-cold "$t"
    write_manifest "$change_to"
    t=$(timed_build "$work/log-mlr-relock-$i" "$mlr" lock)
    echo "-- mlr lock after $change_from -> $change_to: $t s"
    record mlr-relock "$t"
    requirements_from_lock ml.lock >"$work/requirements-b.txt"
    t=$(timed_build "$work/log-mlr-warm-$i" "$mlr" build --tag "$tag:mlr-warm")
    echo "-- mlr build (warm, one pip change): $t s"
    breakdown "$work/log-mlr-warm-$i"
    record mlr-warm "$t"
    t=$(timed_build "$work/log-mlr-noop-$i" "$mlr" build --tag "$tag:mlr-warm")
    echo "-- mlr build (nothing changed): $t s"
    record mlr-noop "$t"
  )
  # The uv binary mlr locks with (downloaded into its cache, or MLR_UV or
  # PATH when mlr took it from there).
  if [ ! -x "$work/uv-bin" ]; then
    local uv="" f
    for f in "$MLR_CACHE_DIR"/tools/uv-*/uv; do [ -x "$f" ] && uv=$f; done
    uv=${uv:-${MLR_UV:-$(command -v uv || true)}}
    [ -n "$uv" ] || { echo "no uv binary: mlr lock put none in $MLR_CACHE_DIR/tools" >&2; exit 2; }
    cp "$uv" "$work/uv-bin"
  fi
  record mlr-shared "$(shared_layers "$tag:mlr-cold" "$tag:mlr-warm")"
  record mlr-size "$(image_mb "$tag:mlr-cold")"
  record mlr-context "$(awk '/Sending build context/ { print $NF }' "$work/log-mlr-cold-$i" | tail -1)"
  unset MLR_CACHE_DIR
}

run_uv() {
  local i=$1 t dir=$work/uv
  remove_images uv
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$work/uv-bin" "$dir/uv"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/ca-certificates.crt"
  uv_dockerfile "$(cat "$work/base.txt")" >"$dir/Dockerfile"
  cp "$work/requirements-a.txt" "$dir/requirements.txt"
  t=$(timed_build "$work/log-uv-cold-$i" env DOCKER_BUILDKIT=0 docker build --no-cache --tag "$tag:uv-cold" "$dir")
  echo "-- Dockerfile + uv, docker build --no-cache (cold): $t s"
  breakdown "$work/log-uv-cold-$i"
  record uv-cold "$t"
  cp "$work/requirements-b.txt" "$dir/requirements.txt"
  t=$(timed_build "$work/log-uv-warm-$i" env DOCKER_BUILDKIT=0 docker build --tag "$tag:uv-warm" "$dir")
  echo "-- Dockerfile + uv, docker build (warm, one pip change): $t s"
  breakdown "$work/log-uv-warm-$i"
  record uv-warm "$t"
  t=$(timed_build "$work/log-uv-noop-$i" env DOCKER_BUILDKIT=0 docker build --tag "$tag:uv-warm" "$dir")
  echo "-- Dockerfile + uv, docker build (nothing changed): $t s"
  record uv-noop "$t"
  record uv-shared "$(shared_layers "$tag:uv-cold" "$tag:uv-warm")"
  record uv-size "$(image_mb "$tag:uv-cold")"
  record uv-context "$(awk '/Sending build context/ { print $NF }' "$work/log-uv-cold-$i" | tail -1)"
}

for i in $(seq 1 "$runs"); do
  echo
  echo "== run $i of $runs"
  # The uv side needs mlr's lock (same pins) and mlr's uv binary, so the
  # first run starts with mlr; later runs alternate.
  if [ "$i" = 1 ] || [ $((i % 2)) = 1 ]; then
    run_mlr "$i"; run_uv "$i"
  else
    run_uv "$i"; run_mlr "$i"
  fi
done

# Median of the recorded values of $1.
median() {
  awk -v k="$1" '$1 == k { print $2 }' "$results" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() {
  awk -v k="$1" '$1 == k { print $2 }' "$results" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f–%.1f", lo, hi }'
}
last() { awk -v k="$1" '$1 == k { $1 = ""; v = substr($0, 2) } END { print v }' "$results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

mc=$(median mlr-cold) mw=$(median mlr-warm) mn=$(median mlr-noop)
uc=$(median uv-cold) uw=$(median uv-warm) un=$(median uv-noop)
echo
echo "== results: median of $runs run(s) (min–max), seconds"
echo
echo "| | \`mlr build\` | Dockerfile + \`uv pip install\` | mlr / uv |"
echo "|---|---|---|---|"
echo "| cold build (\`--no-cache\`, empty mlr cache) | **$mc** ($(spread mlr-cold)) | **$uc** ($(spread uv-cold)) | $(ratio "$mc" "$uc") |"
echo "| warm rebuild after \`$change_from\` → \`${change_to#*==}\` | **$mw** ($(spread mlr-warm)) | **$uw** ($(spread uv-warm)) | $(ratio "$mw" "$uw") |"
echo "| **cold / warm** | **$(ratio "$mc" "$mw")** | **$(ratio "$uc" "$uw")** | |"
echo "| rebuild with nothing changed | $mn ($(spread mlr-noop)) | $un ($(spread uv-noop)) | $(ratio "$mn" "$un") |"
echo "| layers the warm image shares with the cold one | $(last mlr-shared) | $(last uv-shared) | |"
echo "| image size (MB) / build context | $(last mlr-size) / $(last mlr-context) | $(last uv-size) / $(last uv-context) | |"
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mlr lock with an empty cache: $(median mlr-lock) s ($(spread mlr-lock)); re-lock after the change: $(median mlr-relock) s ($(spread mlr-relock))"
