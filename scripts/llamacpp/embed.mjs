// llama.cpp's sentence embeddings of one GGUF file (node-llama-cpp's prebuilt CPU binary, never compiled).
// Usage: node embed.mjs MODEL.gguf TEXTS OUT.json -> {"embeddings": [[...]...], "tokens": [n...]}, one row per
// non-empty line of TEXTS; tokens counts llama.cpp's ids without the [CLS]/[SEP] (<s>/</s>) it adds. Used by
// compare-embeddings.sh to set llama.cpp's vectors beside slimq's own.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import fs from "node:fs";

const [file, textFile, outFile] = process.argv.slice(2);
const texts = fs.readFileSync(textFile, "utf8").split("\n").filter((l) => l.trim() !== "");
const llama = await getLlama({
    gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false,
    logLevel: LlamaLogLevel.error
});
const model = await llama.loadModel({modelPath: file, gpuLayers: 0});
const context = await model.createEmbeddingContext({contextSize: 512, threads: 1});
const embeddings = [];
const tokens = [];
const tk = model.tokens;
for (const t of texts) {
    const ids = model.tokenize(t);
    // For a Unigram (UGM, XLM-R) vocabulary node-llama-cpp's getEmbeddingFor(text) appends </s> but never
    // prepends <s>; pass the ids with the specials the GGUF's add_bos/add_eos flags ask for instead.
    const input = model.vocabularyType === "ugm" ? [...(tk.shouldPrependBosToken ? [tk.bos] : []), ...ids, ...(tk.shouldAppendEosToken ? [tk.eos] : [])] : t;
    embeddings.push([...(await context.getEmbeddingFor(input)).vector]);
    tokens.push(ids.length);
}
fs.writeFileSync(outFile, JSON.stringify({embeddings, tokens}));
await context.dispose();
await model.dispose();
