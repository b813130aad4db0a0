#!/usr/bin/env bash
# Sentence embeddings of a BERT-family checkpoint through llama.cpp (slimq's GGUF files, F16/Q8_0/Q4_0) set
# beside slimq's own forward pass: per text, the cosine of llama.cpp's vector from each GGUF with slimq's
# vector from (a) the original float checkpoint and (b) the same GGUF read back to safetensors. Token counts
# are compared too. Usage: compare-embeddings.sh MODEL_DIR [TEXTS] [mean|cls]  (default: the bundled eval
# sentences, mean pooling). The pooling is written into the GGUF (a 1_Pooling/config.json in a temp copy),
# so both sides pool alike. Run scripts/llamacpp/check.sh once first (it installs node_modules).
# Works for BERT (WordPiece) and XLM-R (Unigram: bge-m3, multilingual-e5) checkpoints alike.
# Example: scripts/llamacpp/compare-embeddings.sh ../shared/models/bge-small-en-v1.5
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SLIMQ="$ROOT/slimq"
MODEL="$(cd "$1" && pwd)"
TEXTS="$(readlink -f "${2:-$ROOT/runtime/src/main/resources/dev/slimq/runtime/eval/texts.txt}")"
POOL="${3:-mean}"
[ -d "$HERE/node_modules/node-llama-cpp" ] || { echo "compare-embeddings.sh: run scripts/llamacpp/check.sh first (npm ci)" >&2; exit 2; }
source "$ROOT/scripts/java.sh"
java_bin="$(slimq_find_java)"
helper() {
  "$java_bin" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -cp "$ROOT/cli/target/test-classes:$ROOT/cli/target/slimq.jar" dev.slimq.cli.LlamaCppCheckMain "$@" 2> >(grep -v 'incubator modules' >&2)
}
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
cp -r "$MODEL" "$T/model"
mkdir -p "$T/model/1_Pooling"
if [ "$POOL" = cls ]; then echo '{"pooling_mode_cls_token": true}' > "$T/model/1_Pooling/config.json"
else echo '{"pooling_mode_mean_tokens": true}' > "$T/model/1_Pooling/config.json"; fi
helper embed "$T/model" "$TEXTS" "$POOL" "$T/slimq-orig.json"
for type in f16 q8_0 q4_0; do
  "$SLIMQ" convert "$T/model" "$T/$type.gguf" --to gguf --type "$type" -q >/dev/null
  "$SLIMQ" convert "$T/$type.gguf" "$T/$type-st" --to safetensors -q >/dev/null
  cp "$T/model/tokenizer.json" "$T/$type-st/"
  helper embed "$T/$type-st" "$TEXTS" "$POOL" "$T/slimq-$type.json"
  ( cd "$HERE" && node embed.mjs "$T/$type.gguf" "$TEXTS" "$T/llamacpp-$type.json" )
done
node -e '
  const fs = require("fs"), dir = process.argv[1], pool = process.argv[2];
  const rd = (f) => JSON.parse(fs.readFileSync(`${dir}/${f}.json`));
  const cos = (a, b) => { let d = 0, x = 0, y = 0; for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; x += a[i] * a[i]; y += b[i] * b[i]; } return d / Math.sqrt(x * y); };
  const stat = (c) => `${(c.reduce((s, v) => s + v, 0) / c.length).toFixed(6)} / ${Math.min(...c).toFixed(6)}`;
  const orig = rd("slimq-orig");
  console.log(`${orig.embeddings.length} texts, ${pool} pooling; cosine mean / min`);
  console.log("type   llama.cpp vs slimq(original)  llama.cpp vs slimq(same GGUF)  slimq(GGUF) vs slimq(original)  tokens equal");
  for (const t of ["f16", "q8_0", "q4_0"]) {
    const l = rd(`llamacpp-${t}`), s = rd(`slimq-${t}`);
    const a = l.embeddings.map((v, i) => cos(v, orig.embeddings[i]));
    const b = l.embeddings.map((v, i) => cos(v, s.embeddings[i]));
    const c = s.embeddings.map((v, i) => cos(v, orig.embeddings[i]));
    const tok = l.tokens.filter((n, i) => n + 2 === orig.tokens[i]).length;
    console.log(`${t.padEnd(6)} ${stat(a).padEnd(29)} ${stat(b).padEnd(30)} ${stat(c).padEnd(31)} ${tok}/${l.tokens.length}`);
  }
' "$T" "$POOL"
