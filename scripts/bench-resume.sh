#!/usr/bin/env bash
# Measures incremental and resumable runs on a generated model (issue 9, item 2):
#   1. a full, uninterrupted `slimq quantize` (the reference bytes and time);
#   2. the same command killed with SIGKILL half-way (by wall time), then re-run: it resumes;
#      the result must be byte-identical to the reference (cmp of every file);
#   3. a re-run of the finished command, and of a finished one-step recipe: "up to date", timed.
# Usage: scripts/bench-resume.sh [WORKDIR] [SIZE] [-- extra quantize options]
#   WORKDIR  where the model and outputs go (default /tmp/slimq-bench-resume); SIZE: tiny, small, 1.1b (default 1.1b)
#   KILL_AT  when to kill, as a fraction of the full run's wall time (default 0.5)
# Prints one line per measurement and a final JSON line. Wall-clock times depend on the machine's
# load (report them with the load they were taken under); CPU seconds (user + system, from
# /usr/bin/time and /proc) are much less sensitive to it: killed + resumed CPU should be about the
# full run's CPU plus one start-up and the check of the kept tensors.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
slimq="$here/slimq"
work="${1:-/tmp/slimq-bench-resume}"
size="${2:-1.1b}"
shift $(( $# >= 2 ? 2 : $# ))
[[ "${1:-}" == "--" ]] && shift
extra=("$@")

now() { date +%s.%N; }
# CPU seconds of a finished command, written by /usr/bin/time -f '%U %S' into $1.
cpu_of() { awk 'END { printf "%.2f", $1 + $2 }' "$1"; }
# CPU seconds a live process has used so far (utime + stime, in clock ticks).
cpu_now() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

mkdir -p "$work"
model="$work/model-$size"
if [[ ! -d "$model" ]]; then
  echo "bench-resume: generating a $size llama at $model" >&2
  "$slimq" synth "$model" --arch llama --size "$size" -q >/dev/null
fi
ref="$work/ref"
out="$work/resumed"
rm -rf "$ref" "$out" "$work/.ref.partial" "$work/.resumed.partial" "$work/recipe-out" "$work/.recipe-out."*

t0=$(now)
/usr/bin/time -f '%U %S' -o "$work/full.time" "$slimq" quantize "$model" "$ref" -q "${extra[@]}" >/dev/null
t1=$(now)
full=$(secs "$t0" "$t1")
full_cpu=$(cpu_of "$work/full.time")
echo "full run:            ${full} s wall, ${full_cpu} s CPU"

# The same command, killed with SIGKILL part-way (KILL_AT) through its full time.
half=$(awk -v f="$full" -v k="${KILL_AT:-0.5}" 'BEGIN { printf "%.2f", f * k }')
"$slimq" quantize "$model" "$out" -q "${extra[@]}" >/dev/null 2>&1 &
pid=$!
sleep "$half"
killed_cpu=$(cpu_now "$pid" 2>/dev/null) || { echo "bench-resume: the run finished before it could be killed" >&2; exit 1; }
kill -9 "$pid" 2>/dev/null || { echo "bench-resume: the run finished before it could be killed" >&2; exit 1; }
wait "$pid" 2>/dev/null || true
journaled=$(cat "$work/.resumed.partial/".*.journal 2>/dev/null | wc -l)
# Share of the output's tensor bytes the killed run had finished (journal lines: name, begin, end, crc).
done_bytes=$(cat "$work/.resumed.partial/".*.journal 2>/dev/null | awk -F'\t' 'NF == 4 { s += $3 - $2 } END { printf "%d", s }')
total_bytes=$(cat "$ref"/*.safetensors | wc -c)
done_pct=$(awk -v d="$done_bytes" -v t="$total_bytes" 'BEGIN { printf "%.1f", 100 * d / t }')
# Quantized weights the killed run had finished (their report entries are noted as they finish):
# the expensive part of the work, unlike copied tensors, which are bytes but little time.
weights_done=$(grep -c '^entry:' "$work/.resumed.partial/.slimq-notes" 2>/dev/null || true)
weights_total=$(grep -c '"sqnr_db"' "$ref/quantization-report.json")
echo "killed after:        ${half} s wall, ${killed_cpu} s CPU (${journaled} tensors journaled: ${done_pct}% of the output bytes, ${weights_done:-0} of ${weights_total} quantized weights)"

t2=$(now)
resumed_json="$(/usr/bin/time -f '%U %S' -o "$work/resumed.time" "$slimq" quantize "$model" "$out" -q --json "${extra[@]}")"
t3=$(now)
resumed=$(secs "$t2" "$t3")
resumed_cpu=$(cpu_of "$work/resumed.time")
kept=$(printf '%s' "$resumed_json" | sed -n 's/.*"resumed_tensors" *: *\([0-9]*\).*/\1/p' | head -1)
echo "resumed run:         ${resumed} s wall, ${resumed_cpu} s CPU (kept ${kept} tensors)"

identical=true
for f in "$ref"/* "$ref"/.slimq-fingerprint.json; do
  name="$(basename "$f")"
  if ! cmp -s "$f" "$out/$name"; then
    echo "DIFFERENT: $name" >&2
    identical=false
  fi
done
[[ "$(cd "$ref" && ls -A | sort)" == "$(cd "$out" && ls -A | sort)" ]] || { echo "DIFFERENT file lists" >&2; identical=false; }
echo "byte-identical:      $identical"

t4=$(now)
"$slimq" quantize "$model" "$ref" -q "${extra[@]}" 2>&1 >/dev/null | grep -q "up to date" || { echo "bench-resume: re-run was not up to date" >&2; exit 1; }
t5=$(now)
rerun=$(secs "$t4" "$t5")
echo "quantize re-run:     ${rerun} s (up to date)"

recipe="$work/recipe.yaml"
{
  echo "version: 1"
  echo "steps:"
  echo "  - command: quantize"
  echo "    in: $model"
  echo "    out: $work/recipe-out"
} >"$recipe"
"$slimq" run "$recipe" -q >/dev/null
t6=$(now)
"$slimq" run "$recipe" -q 2>&1 >/dev/null | grep -q "up to date" || { echo "bench-resume: recipe re-run was not up to date" >&2; exit 1; }
t7=$(now)
recipe_rerun=$(secs "$t6" "$t7")
echo "recipe re-run:       ${recipe_rerun} s (up to date)"

printf '{"size":"%s","full_seconds":%s,"full_cpu_seconds":%s,"killed_after_seconds":%s,"killed_cpu_seconds":%s,"journaled_tensors":%s,"journaled_percent":%s,"weights_done":%s,"weights_total":%s,"resumed_seconds":%s,"resumed_cpu_seconds":%s,"kept_tensors":%s,"byte_identical":%s,"quantize_rerun_seconds":%s,"recipe_rerun_seconds":%s,"load":"%s"}\n' \
  "$size" "$full" "$full_cpu" "$half" "$killed_cpu" "$journaled" "$done_pct" "${weights_done:-0}" "$weights_total" "$resumed" "$resumed_cpu" "${kept:-0}" "$identical" "$rerun" "$recipe_rerun" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
$identical
