#!/usr/bin/env bash
# Set up and build, then the main job on a bundled example: generate a small Llama-style checkpoint
# (GQA, bf16, heavy-tailed weights with outlier channels, BPE tokenizer) and inspect it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="${1:-example/tiny-llama}"
./slimq synth "$out" --arch llama --size tiny --force
./slimq inspect "$out" --stats
