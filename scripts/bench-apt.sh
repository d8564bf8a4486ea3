#!/usr/bin/env bash
# Benchmark of mlr's apt index path (issue 4): download Debian's full
# `main` Packages.gz for one architecture, then gunzip + parse + index it
# several times with a release build of examples/apt_parse.rs, and time the
# whole program with hyperfine when it is installed.
#
#   scripts/bench-apt.sh [--suite bookworm] [--arch amd64] [--runs 10]
#   scripts/bench-apt.sh --vs-apt [STATUS] [REQUESTS...]
#
# --vs-apt checks the solver instead: for each request set it compares the
# closure mlr computes with what `apt-get -s install --no-install-recommends`
# would install, both from this machine's apt lists, on top of the dpkg
# STATUS file (default /var/lib/dpkg/status). Requests are quoted sets,
# e.g. "git libgl1" ffmpeg. Results go to the book's benchmarks chapter.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
suite=bookworm
arch=amd64
runs=10
vs_apt=0
status=/var/lib/dpkg/status
requests=()
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --vs-apt)
      vs_apt=1; shift
      if [ $# -gt 0 ] && [ -f "$1" ]; then status=$1; shift; fi
      requests=("$@"); break ;;
    *) echo "usage: $0 [--suite S] [--arch A] [--runs N] | --vs-apt [STATUS] [REQUESTS...]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building examples/apt_parse (release)"
(cd "$root" && cargo build --release --example apt_parse --quiet)
bin=${CARGO_TARGET_DIR:-$root/target}/release/examples/apt_parse

echo "== machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(rustc --version)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ)"

if [ "$vs_apt" = 1 ]; then
  [ ${#requests[@]} -gt 0 ] || requests=("git libgl1" "build-essential python3-dev" ffmpeg python3-torch libreoffice gnome-core)
  # The very lists apt-get reads, decompressed for mlr.
  lists=()
  for f in /var/lib/apt/lists/*_binary-"$arch"_Packages*; do
    [ -e "$f" ] || continue
    out="$work/$(basename "${f%.*}").txt"
    case "$f" in
      *.lz4) lz4cat "$f" >"$out" ;;
      *.gz) zcat "$f" >"$out" ;;
      *.xz) xzcat "$f" >"$out" ;;
      *) cat "$f" >"$out" ;;
    esac
    lists+=("$out")
  done
  [ ${#lists[@]} -gt 0 ] || { echo "no apt lists for $arch: run apt-get update" >&2; exit 2; }
  echo "== closures on $status ($(grep -c '^Package:' "$status") entries), ${#lists[@]} index files"
  # mlr pins a direct request even when the base has it (a no-op install);
  # apt lists nothing for those, so they are left out of the comparison.
  awk -v RS= '/\nStatus: [a-z]+ ok installed/ {
      n = v = ""
      for (i = 1; i <= split($0, l, "\n"); i++) {
        if (l[i] ~ /^Package: /) n = substr(l[i], 10)
        if (l[i] ~ /^Version: /) v = substr(l[i], 10)
      }
      print n "=" v
    }' "$status" | sort -u >"$work/base.txt"
  differ=0
  for set in "${requests[@]}"; do
    # shellcheck disable=SC2086
    apt-get -s -o Dir::State::status="$status" install --no-install-recommends $set 2>&1 |
      awk '/^Inst/ { v = $3; if (v ~ /^\[/) v = $4; gsub(/[()]/, "", v); print $2 "=" v } /^E:/ { print }' |
      sort >"$work/apt.txt"
    args=()
    for r in $set; do args+=(--request "$r"); done
    "$bin" --runs 1 --arch "$arch" --status "$status" "${args[@]}" --print "${lists[@]}" 2>&1 |
      awk '/ via / { print $1 } /^Error/ { print }' | sort | comm -23 - "$work/base.txt" >"$work/mlr.txt"
    if diff -q "$work/apt.txt" "$work/mlr.txt" >/dev/null; then
      echo "same   $(wc -l <"$work/apt.txt") packages: $set"
    else
      differ=1
      echo "DIFFER (apt $(wc -l <"$work/apt.txt"), mlr $(wc -l <"$work/mlr.txt")): $set"
      diff "$work/apt.txt" "$work/mlr.txt" | sed -n 's/^[<>] /    &/p' | head -20
    fi
  done
  exit "$differ"
fi

mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
url="${mirror%/}/dists/$suite/main/binary-$arch/Packages.gz"
echo "== downloading $url"
curl -fsSL -o "$work/Packages.gz" "$url"
echo "== $(stat -c %s "$work/Packages.gz") bytes, sha256 $(sha256sum "$work/Packages.gz" | cut -c1-16)..."

echo "== phases inside one process ($runs runs)"
"$bin" --runs "$runs" --arch "$arch" "$work/Packages.gz"

if command -v hyperfine >/dev/null; then
  echo "== whole program: read + gunzip + parse + index (hyperfine)"
  hyperfine --warmup 2 --runs "$runs" --style basic "$bin --once $work/Packages.gz"
else
  echo "== hyperfine not installed (apt-get install hyperfine): skipped the whole-program timing"
fi
