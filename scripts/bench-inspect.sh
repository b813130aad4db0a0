#!/usr/bin/env bash
# Benchmark: `slimq inspect --stats` on a generated Llama checkpoint (default: the 1.1B shape, bf16).
# Reports the tensor bytes read, and the wall time and peak memory of the whole process
# (scripts/measure.sh: RssAnon = private memory, RssFile = mapped file pages resident, VmRSS = both);
# throughput = tensor bytes / wall time.
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
  echo "bench: generated in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }') s" >&2
fi
# Warm the page cache once so the number measures slimq, not the disk.
cat "$dir"/*.safetensors > /dev/null
scripts/measure.sh inspect "$dir" --stats --json --quiet "$@" | python3 -c "
import json, sys
print('inspect --stats, llama $size: %.2f GB of tensor data' % (json.load(sys.stdin)['tensor_bytes'] / 1e9))"
