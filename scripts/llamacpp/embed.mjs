// llama.cpp's sentence embeddings of one GGUF file (node-llama-cpp's prebuilt CPU binary, never compiled).
// Usage: node embed.mjs MODEL.gguf TEXTS OUT.json -> {"embeddings": [[...]...], "tokens": [n...]}, one row per
// non-empty line of TEXTS; tokens counts llama.cpp's ids without the [CLS]/[SEP] it adds. Used by
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
for (const t of texts) {
    embeddings.push([...(await context.getEmbeddingFor(t)).vector]);
    tokens.push(model.tokenize(t).length);
}
fs.writeFileSync(outFile, JSON.stringify({embeddings, tokens}));
await context.dispose();
await model.dispose();
