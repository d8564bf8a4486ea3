#!/usr/bin/env bash
# Benchmark of `mlr dockerfile` on a lock whose pip packages form one long
# `via` chain (issue 10): ml.toml asks for one package, which pulls in the
# next, LEN deep. examples/via_chain.rs writes the project: a canonical
# ml.lock with the manifest's fingerprint, so `mlr dockerfile` reads it,
# finds it fresh and renders. The chain runs against the lock's sorted
# order, the worst case for a renderer that sweeps the pins until nothing
# changes.
#
#   scripts/bench-via.sh [--len 10000] [--runs 5] [--baseline REV]
#
# --baseline REV also builds mlr at git revision REV (from `git archive`,
# under the target directory, whose build cache it shares) and
# times it on the same project, before the current checkout. Results go to
# the book's benchmarks chapter.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
len=10000
runs=5
baseline=
while [ $# -gt 0 ]; do
  case "$1" in
    --len) len=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    *) echo "usage: $0 [--len N] [--runs N] [--baseline REV]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target=${CARGO_TARGET_DIR:-$root/target}
target=$(cd "$root" && mkdir -p "$target" && cd "$target" && pwd)

# summary NAME AWK-COLUMN FILE: median, min and max of one column of times.
summary() {
  awk "$2" "$3" | sort -n | awk -v name="$1" '
    { t[NR] = $1 }
    END { printf "%s: median %.2f s (min %.2f, max %.2f)\n", name, t[int((NR + 1) / 2)], t[1], t[NR] }'
}

bins=()
if [ -n "$baseline" ]; then
  rev=$(git -C "$root" rev-parse --short "$baseline")
  echo "== building mlr at $rev (release)"
  # A fixed place per revision, so a second run builds nothing again.
  src="$target/bench-via/src-$rev"
  if [ ! -f "$src/Cargo.toml" ]; then
    mkdir -p "$src"
    git -C "$root" archive "$rev" | tar -x -C "$src"
  fi
  (cd "$src" && cargo build --release --locked --bin mlr --quiet --target-dir "$target")
  cp "$target/release/mlr" "$work/mlr-$rev"
  bins+=("$work/mlr-$rev")
fi
echo "== building mlr and examples/via_chain (release)"
(cd "$root" && cargo build --release --locked --bin mlr --example via_chain --quiet)
cp "$target/release/mlr" "$work/mlr-current"
bins+=("$work/mlr-current")

echo "== machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(rustc --version)"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"

project="$work/project"
"$target/release/examples/via_chain" --len "$len" "$project"
echo "== project: a $len-package via chain, ml.lock $(wc -l <"$project/ml.lock") lines, $(stat -c %s "$project/ml.lock") bytes"

for bin in "${bins[@]}"; do
  label=$(basename "$bin")
  # The Dockerfile must be the same whichever mlr renders it.
  (cd "$project" && "$bin" dockerfile >"$work/$label.Dockerfile")
  if command -v hyperfine >/dev/null; then
    echo "== $label: mlr dockerfile (hyperfine, $runs runs)"
    (cd "$project" && hyperfine --warmup 1 --runs "$runs" --style basic "$bin dockerfile -o $work/out.Dockerfile")
  else
    echo "== $label: mlr dockerfile ($runs runs; seconds)"
    # Wall clock and CPU time (user + sys): on a shared machine the CPU
    # time is the steadier figure.
    TIMEFORMAT='%R %U %S'
    for _ in $(seq "$runs"); do
      { time (cd "$project" && "$bin" dockerfile -o "$work/out.Dockerfile" 2>/dev/null); } 2>>"$work/$label.times"
    done
    summary "wall" '{ print $1 }' "$work/$label.times"
    summary "cpu (user + sys)" '{ print $2 + $3 }' "$work/$label.times"
  fi
done
if [ ${#bins[@]} -gt 1 ]; then
  if cmp -s "$work/$(basename "${bins[0]}").Dockerfile" "$work/mlr-current.Dockerfile"; then
    echo "== both render the same Dockerfile"
  else
    echo "== the Dockerfiles DIFFER" >&2
    exit 1
  fi
fi
