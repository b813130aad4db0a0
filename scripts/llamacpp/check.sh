#!/usr/bin/env bash
# Proof in a real engine (issue 8 item 3): load slimq's GGUF outputs (tiny Llama and tiny BERT as F16, Q8_0,
# Q4_0) in llama.cpp through node-llama-cpp's prebuilt CPU binary (getLlama({gpu: false, build: "never"})),
# check that Llama next-token distributions and BERT embeddings are finite, and set llama.cpp's BERT
# embeddings (quantized vs F16) beside slimq's own eval of the same GGUF files read back.
# Needs node >= 20 and npm (registry access for `npm ci` only; everything after it runs offline).
# Exit 1 when a GGUF fails to load, gives non-finite outputs, or Q8_0 BERT embeddings drop below cosine 0.99.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SLIMQ="$ROOT/slimq"
START=$(date +%s.%N)
[ -x "$SLIMQ" ] || { echo "check.sh: $SLIMQ not built (mvn -o install -DskipTests)" >&2; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "check.sh: node and npm are needed" >&2; exit 2; }

# 1. Dependencies: node-llama-cpp and its linux-x64 CPU binary only (--omit=optional drops the CUDA, Vulkan
#    and other-platform binaries, 732 MB -> 83 MB); --ignore-scripts: its postinstall never builds or downloads.
( cd "$HERE" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error )
NPM_DONE=$(date +%s.%N)
echo "node_modules: $(du -sh "$HERE/node_modules" | cut -f1), npm ci $(awk "BEGIN{printf \"%.1f\", $NPM_DONE-$START}") s"

T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
quiet() { "$@" > "$T/cmd.log" 2>&1 || { grep -v 'incubator modules' "$T/cmd.log" >&2; echo "check.sh: failed: $*" >&2; exit 1; }; }
printf '%s\n' "the quick brown fox jumps over the lazy dog" "hello world" "a small test of embeddings" > "$T/texts.txt"

# 2-3. Synthesize and convert.
for arch in llama bert; do
  quiet "$SLIMQ" synth "$T/$arch" --arch "$arch" --size tiny --force -q
  for type in f16 q8_0 q4_0; do
    quiet "$SLIMQ" convert "$T/$arch" "$T/$arch-$type.gguf" --to gguf --type "$type" -q
  done
done

# 4. llama.cpp. Offline from here on: without network when the kernel lets us (user namespace).
NET=()
if unshare -rn true 2>/dev/null; then NET=(unshare -rn); echo "llama.cpp runs with no network (unshare -rn)"; fi
status=0
( cd "$HERE" && SLIMQ_TEXTS="$T/texts.txt" SLIMQ_LLAMACPP_JSON="$T/llamacpp.json" "${NET[@]}" timeout 300 node check.mjs "$T" ) || status=$?
[ "$status" = 124 ] && echo "check.sh: llama.cpp check timed out (300 s)" >&2

# 5. slimq's side: read each BERT GGUF back (dequantized) and embed the same texts with slimq eval against the
#    original checkpoint. slimq eval prints no per-text embeddings, so this sets cosines beside cosines.
echo
printf '%-6s  %-32s  %-30s  %s\n' type "llama.cpp cos vs its f16 (mean/min)" "slimq eval cos vs original" "tokens slimq/llama.cpp+CLS,SEP"
for type in f16 q8_0 q4_0; do
  d="$T/bert-$type-st"
  quiet "$SLIMQ" convert "$T/bert-$type.gguf" "$d" --to safetensors -q
  cp "$T/bert/tokenizer.json" "$T/bert/tokenizer_config.json" "$T/bert/vocab.txt" "$d/"
  "$SLIMQ" eval "$d" --reference "$T/bert" --texts "$T/texts.txt" --json 2>/dev/null > "$T/eval-$type.json" || status=1
  node -e '
    const [lf, ef, type, n] = process.argv.slice(1);
    const fs = require("fs");
    const row = fs.existsSync(lf) ? JSON.parse(fs.readFileSync(lf)).rows.find((r) => r.file === `bert-${type}.gguf`) : null;
    let e = null; try { e = JSON.parse(fs.readFileSync(ef)); } catch {}
    const f = (x) => x == null ? "-" : x.toFixed(6);
    const l = type === "f16" ? "(reference)" : `${f(row?.meanCos)} / ${f(row?.minCos)}`;
    const s = e?.comparison ? `${f(e.comparison.mean_cos)} / ${f(e.comparison.min_cos)}` : "eval failed";
    const tk = `${e?.model?.tokens ?? "-"}/${row?.tokens == null ? "-" : row.tokens + 2 * Number(n)}`;
    console.log(`${type.padEnd(6)}  ${l.padEnd(32)}  ${s.padEnd(30)}  ${tk}`);
  ' "$T/llamacpp.json" "$T/eval-$type.json" "$type" "$(wc -l < "$T/texts.txt")"
done
echo "Llama: llama.cpp's Q8_0/Q4_0 next-token distributions are compared with its F16 one (KL above); slimq's own decoder pass (eval perplexity) is not compared here yet."
echo "total $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$START}") s (npm ci $(awk "BEGIN{printf \"%.1f\", $NPM_DONE-$START}") s)"
exit $status
