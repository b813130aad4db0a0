#!/usr/bin/env bash
# Whole-process quantization of a generated Llama checkpoint (default the 1.1B shape, bf16) with the
# defaults (easyquant, 4-bit, g128, asymmetric, compressed-tensors), report included; prints wall
# time and peak memory (scripts/measure.sh). Targets (issue 3): 1.1B in <= 15 s on 2 cores, peak
# private memory (RssAnon) <= 1.5 GiB and flat in model size (run 7b too).
# Usage: scripts/bench-quantize-model.sh [tiny|small|1.1b|7b] [extra quantize options]
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1.1b}"; shift || true
base="${SLIMQ_BENCH_DIR:-/tmp/slimq-bench}"
dir="$base/llama-$size"
if [[ ! -d "$dir" ]]; then
  mkdir -p "$base"
  ./slimq synth "$dir" --arch llama --size "$size" --max-shard-size 2GB --quiet
fi
cat "$dir"/*.safetensors > /dev/null   # warm the page cache: measure slimq, not the disk
scripts/measure.sh quantize "$dir" "$base/llama-$size-q" --force --quiet "$@"
rm -rf "$base/llama-$size-q"
