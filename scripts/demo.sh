#!/usr/bin/env bash
# Set up and build, then the main job on a bundled example: generate a small Llama-style checkpoint
# (GQA, bf16, heavy-tailed weights with outlier channels, BPE tokenizer), quantize it to 4 bits
# (compressed-tensors, as vLLM loads it), and inspect the result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="${1:-example/llama-small}"
./slimq synth "$out" --arch llama --size small --force
./slimq quantize "$out" "$out-w4" --group-size 64 --force
./slimq inspect "$out-w4"
