#!/usr/bin/env bash
# Proof in a real engine (issue 8 item 3): load slimq's GGUF outputs (tiny Llama and tiny BERT as F16, Q8_0,
# Q4_0, the tiny Llama with a SentencePiece-style tokenizer as F16, and a tiny XLM-R-style encoder with a
# SentencePiece Unigram tokenizer and a precompiled charsmap as F16 and Q8_0) in llama.cpp through node-llama-cpp's
# prebuilt CPU binary (getLlama({gpu: false, build: "never"})).
# Llama: llama.cpp's tokenization of the check texts must equal slimq's token ids exactly, and llama.cpp's
# next-token distributions at every position must agree with slimq's own decoder (runtime.llama, through the
# test-classes helper LlamaCppCheckMain) on the same weights read back from each GGUF: KL(slimq||llama.cpp)
# at most 1e-4 (F16) / 1e-3 (Q8_0, Q4_0, where llama.cpp also quantizes activations to 8 bits), and
# perplexity within 0.1% (F16) / 0.5%. BERT: embeddings finite, Q8_0 vs F16 cosine at least 0.99, set beside
# slimq's own eval of the same GGUF files read back. XLM-R (tokenizer.ggml.model "t5", llama.cpp's UGM tokenizer
# running the GGUF's precompiled charsmap): llama.cpp's token ids (with <s> </s>) for texts with non-ASCII,
# fullwidth, ligature and decomposed characters must equal slimq's, and llama.cpp's mean-pooled embedding of
# each text must have cosine at least 0.9999 (F16) / 0.999 (Q8_0) with slimq's own forward pass
# (runtime.bert) on the same GGUF read back to safetensors.
# Needs node >= 20 and npm (registry access for `npm ci` only; everything after it runs offline), and the
# built jar and cli test classes (mvn -o package -DskipTests, or mvn verify).
# Exit 1 when a check fails, 2 when something it needs is missing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SLIMQ="$ROOT/slimq"
START=$(date +%s.%N)
[ -x "$SLIMQ" ] || { echo "check.sh: $SLIMQ not built (mvn -o package -DskipTests)" >&2; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "check.sh: node and npm are needed" >&2; exit 2; }

# 1. Dependencies: node-llama-cpp and its linux-x64 CPU binary only (--omit=optional drops the CUDA, Vulkan
#    and other-platform binaries, 732 MB -> 83 MB); --ignore-scripts: its postinstall never builds or downloads.
( cd "$HERE" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error )
NPM_DONE=$(date +%s.%N)
echo "node_modules: $(du -sh "$HERE/node_modules" | cut -f1), npm ci $(awk "BEGIN{printf \"%.1f\", $NPM_DONE-$START}") s"

T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
quiet() { "$@" > "$T/cmd.log" 2>&1 || { grep -v 'incubator modules' "$T/cmd.log" >&2; echo "check.sh: failed: $*" >&2; exit 1; }; }
printf '%s\n' "the quick brown fox jumps over the lazy dog" "hello world" "a small test of embeddings" \
  "The harbor town woke slowly on cold mornings." "Fishing boats, 42 crates: don't panic!  Twice-spaced." "naïve café ☃ 日本" > "$T/texts.txt"

# 2-3. Synthesize and convert; llama-spm is the tiny Llama with a SentencePiece-style tokenizer
#      (testdata's SynthSentencePiece, set by the test-classes helper LlamaCppCheckMain).
source "$ROOT/scripts/java.sh"
JAVA="$(slimq_find_java)"
helper() { quiet "$JAVA" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector --sun-misc-unsafe-memory-access=allow \
  -cp "$ROOT/cli/target/slimq.jar:$ROOT/cli/target/test-classes" dev.slimq.cli.LlamaCppCheckMain "$@"; }
[ -f "$ROOT/cli/target/test-classes/dev/slimq/cli/LlamaCppCheckMain.class" ] || { echo "check.sh: cli test classes not built (mvn -o package -DskipTests)" >&2; exit 2; }
for arch in llama bert; do
  quiet "$SLIMQ" synth "$T/$arch" --arch "$arch" --size tiny --force -q
  for type in f16 q8_0 q4_0; do
    quiet "$SLIMQ" convert "$T/$arch" "$T/$arch-$type.gguf" --to gguf --type "$type" -q
  done
done
# XLM-R: the tiny encoder with a trained Unigram tokenizer whose normalizer is a precompiled charsmap, mean pooling.
helper xlmr "$T/xlmr"
mkdir -p "$T/xlmr/1_Pooling"
echo '{"pooling_mode_mean_tokens": true}' > "$T/xlmr/1_Pooling/config.json"
{ cat "$T/texts.txt"; printf '%s\n' "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ and ﬁsh ﬂour… done" "cafe$(printf '\xcc\x81') au lait, über straße" \
  "Ελληνικά и русский текст 😀 tab	end"; } > "$T/xlmr-texts.txt"
helper embed "$T/xlmr" "$T/xlmr-texts.txt" mean "$T/slimq-xlmr-orig.json"
for type in f16 q8_0; do
  quiet "$SLIMQ" convert "$T/xlmr" "$T/xlmr-$type.gguf" --to gguf --type "$type" -q
  quiet "$SLIMQ" convert "$T/xlmr-$type.gguf" "$T/xlmr-$type-st" --to safetensors -q
  cp "$T/xlmr/tokenizer.json" "$T/xlmr/tokenizer_config.json" "$T/xlmr-$type-st/"
  helper embed "$T/xlmr-$type-st" "$T/xlmr-texts.txt" mean "$T/slimq-xlmr-$type.json"
done
cp -r "$T/llama" "$T/llama-spm"
helper spm "$T/llama-spm"
quiet "$SLIMQ" convert "$T/llama-spm" "$T/llama-spm-f16.gguf" --to gguf --type f16 -q

# slimq's side for Llama: each GGUF read back to safetensors, then slimq's token ids and its own
# decoder logits (runtime.llama) for the check texts, which check.mjs sets beside llama.cpp's.
for name in llama-f16 llama-q8_0 llama-q4_0 llama-spm-f16; do
  src="$T/llama"; [[ $name == llama-spm-* ]] && src="$T/llama-spm"
  quiet "$SLIMQ" convert "$T/$name.gguf" "$T/$name-st" --to safetensors -q
  cp "$src/tokenizer.json" "$src/tokenizer_config.json" "$T/$name-st/"
  helper logits "$T/$name-st" "$T/texts.txt" "$T/slimq-$name.json"
done
SLIMQ_DONE=$(date +%s.%N)
echo "slimq side (synth, convert, read back, logits): $(awk "BEGIN{printf \"%.1f\", $SLIMQ_DONE-$NPM_DONE}") s"

# 4. llama.cpp. Offline from here on: without network when the kernel lets us (user namespace).
NET=()
if unshare -rn true 2>/dev/null; then NET=(unshare -rn); echo "llama.cpp runs with no network (unshare -rn)"; fi
status=0
( cd "$HERE" && SLIMQ_TEXTS="$T/texts.txt" SLIMQ_XLMR_TEXTS="$T/xlmr-texts.txt" SLIMQ_LLAMACPP_JSON="$T/llamacpp.json" "${NET[@]}" timeout 300 node check.mjs "$T" ) || status=$?
[ "$status" = 124 ] && echo "check.sh: llama.cpp check timed out (300 s)" >&2
echo "llama.cpp side (node check.mjs): $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$SLIMQ_DONE}") s"

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
echo "total $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$START}") s (npm ci $(awk "BEGIN{printf \"%.1f\", $NPM_DONE-$START}") s)"
exit $status
