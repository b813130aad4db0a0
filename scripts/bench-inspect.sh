#!/usr/bin/env bash
# Benchmark: `slimq inspect --stats` on a generated Llama checkpoint (default: the 1.1B shape, bf16).
# Reports throughput over tensor data and peak memory of the JVM, sampled from /proc every 20 ms:
# RssAnon (private, anonymous memory), RssFile (mapped file pages resident) and VmRSS (their sum).
# Targets: >= 1 GB/s on 2 cores; private memory < 1 GiB; RSS not growing with the model (run 7b too).
# Usage: scripts/bench-inspect.sh [tiny|small|1.1b|7b] [extra inspect options]
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1.1b}"; shift || true
dir="${SLIMQ_BENCH_DIR:-/tmp/slimq-bench}/llama-$size"
if [[ ! -d "$dir" ]]; then
  mkdir -p "$(dirname "$dir")"
  echo "bench: generating $dir" >&2
  t0=$(date +%s.%N)
  ./slimq synth "$dir" --arch llama --size "$size" --max-shard-size 2GB --quiet
  echo "bench: generated in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
fi
# Warm the page cache once so the number measures slimq, not the disk.
cat "$dir"/*.safetensors > /dev/null
out="$(mktemp)"
t0=$(date +%s.%N)
./slimq inspect "$dir" --stats --json --quiet "$@" > "$out" 2>/dev/null &
pid=$!
peak_anon=0; peak_file=0; peak_rss=0
while kill -0 "$pid" 2>/dev/null; do
  if [[ -r /proc/$pid/status ]]; then
    read -r anon file rss < <(awk '/^RssAnon/{a=$2} /^RssFile/{f=$2} /^VmRSS/{r=$2} END{print a+0, f+0, r+0}' "/proc/$pid/status" 2>/dev/null || echo "0 0 0")
    (( anon > peak_anon )) && peak_anon=$anon
    (( file > peak_file )) && peak_file=$file
    (( rss > peak_rss )) && peak_rss=$rss
  fi
  sleep 0.02
done
wait "$pid"
t1=$(date +%s.%N)
bytes=$(python3 -c "import json,sys; print(json.load(open('$out'))['tensor_bytes'])")
rm -f "$out"
python3 - "$bytes" "$t0" "$t1" "$peak_anon" "$peak_file" "$peak_rss" "$size" <<'PY'
import sys
b, t0, t1, anon, f, rss, size = sys.argv[1:]
b = int(b); dt = float(t1) - float(t0)
print(f"inspect --stats, llama {size}: {b/1e9:.2f} GB of tensor data in {dt:.2f} s = {b/1e9/dt:.2f} GB/s (whole process, JVM start included)")
print(f"peak RssAnon {int(anon)/1024:.0f} MiB, peak RssFile {int(f)/1024:.0f} MiB, peak VmRSS {int(rss)/1024:.0f} MiB")
PY
