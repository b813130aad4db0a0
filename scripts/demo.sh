#!/usr/bin/env bash
# Set up and build, then the main job on a bundled example: generate a small Llama-style checkpoint
# (GQA, bf16, heavy-tailed weights with outlier channels, BPE tokenizer), quantize it to 4 bits
# (compressed-tensors, as vLLM loads it), inspect the result, and validate every quantized layer
# through the fused dequant kernels (OpenCL on PoCL or a GPU) against float64 and the original.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="${1:-example/llama-small}"
./slimq synth "$out" --arch llama --size small --force
./slimq quantize "$out" "$out-w4" --group-size 64 --force
./slimq inspect "$out-w4"
# The synthetic weights have outlier input channels and the heavy-tailed probes excite them: without
# outlier residuals (compressed-tensors cannot store them) a layer output can be off by about 1/3.
./slimq validate "$out-w4" --reference "$out" --max-error 0.5
