#!/usr/bin/env bash
# Start-up time of `slimq --version`: the median (and min/max) wall time of N runs, for the
# development launcher (./slimq, system Java 25, the jar in cli/target) and, when built, the
# packaged image (dist/slimq-*/bin/slimq, jlink'd runtime) with and without its AOT cache.
# Usage: scripts/bench-startup.sh [RUNS] [IMAGE_DIR]   (RUNS default 20; IMAGE_DIR default: the
#        newest unpacked image under dist/). Shared or busy machines give noisy numbers: compare
#        medians taken in one sitting.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
image="${2:-$(ls -d dist/slimq-*-linux-x64 2>/dev/null | sort | tail -n1 || true)}"

# Prints "median min max cpu" in milliseconds of `"$@" --version` over $runs runs (after 2
# warm-ups that fill the page cache): wall time, and the median CPU time (user + system, all
# processes of the run), which a busy machine disturbs less than the wall time.
measure() {
  local i t
  local -a wall=() cpu=()
  for i in 1 2; do "$@" --version >/dev/null 2>&1; done
  local TIMEFORMAT='%3R %3U %3S'
  for ((i = 0; i < runs; i++)); do
    t="$( { time "$@" --version >/dev/null 2>&1; } 2>&1 )"
    read -r r u s <<<"$t"
    wall+=("$(awk -v r="$r" 'BEGIN {printf "%d", r * 1000}')")
    cpu+=("$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%d", (u + s) * 1000}')")
  done
  med() { sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%d %d %d\n", m, a[1], a[NR]}'; }
  read -r wm wmin wmax < <(printf '%s\n' "${wall[@]}" | med)
  read -r cm _ _ < <(printf '%s\n' "${cpu[@]}" | med)
  echo "$wm $wmin $wmax $cm"
}

report() {
  local label="$1"; shift
  read -r med min max cpu < <(measure "$@")
  printf '%-34s median %5d ms  (min %d, max %d)  CPU %5d ms  [%d runs]\n' "$label" "$med" "$min" "$max" "$cpu" "$runs"
}

echo "slimq --version start-up, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg):"
[[ -f cli/target/slimq.jar ]] && report "./slimq (system Java, jar)" ./slimq
if [[ -n "$image" && -x "$image/bin/slimq" ]]; then
  echo "image: $image"
  report "image bin/slimq, AOT cache off" env SLIMQ_AOT=off "$image/bin/slimq"
  [[ -f "$image/app/slimq.aot" ]] && report "image bin/slimq, AOT cache on" "$image/bin/slimq"
else
  echo "(no packaged image under dist/; scripts/package.sh builds one)"
fi
