#!/usr/bin/env bash
# Benchmark of the built-in forward pass (issue 5), on THREADS threads (default 2):
#  1. this machine's measured float FMA peak (scripts/runtime/FmaPeak.java: register-only Vector API fma chains);
#  2. `slimq eval` of the 400 bundled sentences on bge-small-en-v1.5 (target: under 30 s on 2 cores), forward
#     time and tokens/s as eval reports them;
#  3. prefill of the generated 1.1B-parameter Llama-shaped model (`slimq synth --size 1.1b`) through `slimq eval`
#     (perplexity windows of WINDOW tokens over the first LLAMA_LINES bundled sentences): tokens/s, and GFLOP/s
#     counted from the config (2 flops per multiply-add of every linear incl. lm_head, plus the causal
#     attention's QK^T and PV products) against the peak of step 1.
# Numbers on shared machines are noisy; this script reports, it does not fail on targets. Each command's CPU time
# (user + sys) is reported next to its wall time: on a machine busier than THREADS cores, cpu/wall shows how many
# cores the run actually had, and the per-core figures estimate what an idle machine would give.
# Usage: scripts/bench-runtime.sh
#   BGE          bge-small checkpoint (default /work/shared/models/bge-small-en-v1.5; step 2 is skipped without it)
#   BENCH_DIR    where the generated 1.1B model is kept between runs (default /tmp/slimq-bench-runtime; 2.2 GB)
#   THREADS=2 WINDOW=256 LLAMA_LINES=40 SKIP_LLAMA=1 (skip step 3)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f cli/target/slimq.jar ]] || bash scripts/setup.sh
# shellcheck source=scripts/java.sh
source scripts/java.sh
java_bin="$(slimq_find_java)"
threads="${THREADS:-2}"
window="${WINDOW:-256}"
lines="${LLAMA_LINES:-40}"
work="${BENCH_DIR:-/tmp/slimq-bench-runtime}"
bge="${BGE:-/work/shared/models/bge-small-en-v1.5}"
texts=runtime/src/main/resources/dev/slimq/runtime/eval/texts.txt
mkdir -p "$work"

echo "== measured peak"
peak_line="$("$java_bin" --add-modules jdk.incubator.vector scripts/runtime/FmaPeak.java "$threads" 2>/dev/null)"
echo "$peak_line"
peak="$(sed -E 's/.*peak ([0-9.]+) GFLOP.*/\1/' <<<"$peak_line")"

if [[ -d "$bge" ]]; then
  echo "== bge-small: eval of the 400 bundled sentences, $threads threads"
  TIMEFORMAT='%R %U %S'
  { time ./slimq eval "$bge" --threads "$threads" --json >"$work/bge.json" 2>/dev/null; } 2>"$work/bge.time"
  python3 - "$work/bge.json" "$work/bge.time" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["model"]
wall, user, sys_ = (float(x) for x in open(sys.argv[2]).read().split()[-3:])
cores = (user + sys_) / wall
print(f"{m['texts']} texts, {m['tokens']} tokens: forward {m['seconds']:.2f} s ({m['tokens_per_second']:.0f} tokens/s, "
      f"{m['ms_per_text']:.1f} ms/text), load {m['load_seconds']:.2f} s; whole command {wall:.2f} s wall (target < 30 s: "
      f"{'met' if wall < 30 else 'NOT met'}), {user + sys_:.1f} s CPU = {cores:.2f} cores busy on average")
PY
else
  echo "== bge-small: $bge not found, skipped"
fi

if [[ "${SKIP_LLAMA:-0}" != 1 ]]; then
  model="$work/llama-1.1b"
  if [[ ! -f "$model/config.json" ]]; then
    echo "== generating the 1.1B Llama-shaped model in $model"
    ./slimq synth "$model" --arch llama --size 1.1b
  fi
  head -n "$lines" "$texts" >"$work/llama-texts.txt"
  echo "== 1.1B Llama prefill: $lines sentences, window $window, $threads threads"
  # float[] weights: 1.1B x 4 bytes on the heap
  TIMEFORMAT='%R %U %S'
  { time SLIMQ_HEAP="${SLIMQ_HEAP:-7g}" ./slimq eval "$model" --texts "$work/llama-texts.txt" --window "$window" \
      --threads "$threads" --json >"$work/llama.json" 2>/dev/null; } 2>"$work/llama.time"
  python3 - "$work/llama.json" "$model/config.json" "$peak" "$work/llama.time" "$threads" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["model"]
c = json.load(open(sys.argv[2]))
peak = float(sys.argv[3])
wall, user, sys_ = (float(x) for x in open(sys.argv[4]).read().split()[-3:])
threads = int(sys.argv[5])
h, L, inter, V = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"], c["vocab_size"]
heads = c["num_attention_heads"]; kv = c.get("num_key_value_heads", heads); d = c.get("head_dim", h // heads)
linear = L * (h * heads * d + 2 * h * kv * d + heads * d * h + 3 * h * inter) + V * h
n, w = m["tokens"], m["window"]
# causal attention: position i (0-based) in its window attends to i+1 keys; QK^T and PV are 2 flops each per key and dim
ctx = 0
for s in range(0, n, w):
    k = min(w, n - s)
    ctx += k * (k + 1) // 2
flops = 2 * linear * n + L * heads * d * 4 * ctx
secs = m["seconds"]
g = flops / secs / 1e9
cores = (user + sys_) / wall
print(f"{n} tokens in {secs:.2f} s (load {m['load_seconds']:.2f} s): {n / secs:.1f} tokens/s, "
      f"{flops / n / 1e9:.2f} GFLOP/token, {g:.1f} GFLOP/s = {100 * g / peak:.0f}% of the measured {peak:.1f} GFLOP/s peak")
print(f"whole command {wall:.1f} s wall, {user + sys_:.1f} s CPU = {cores:.2f} of {threads} cores busy on average; "
      f"per busy core {g / cores:.1f} GFLOP/s against {peak / threads:.1f} peak per core (load time included in the CPU)")
PY
fi
