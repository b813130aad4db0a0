// Loads slimq's GGUF outputs in llama.cpp (node-llama-cpp's prebuilt CPU binary, never compiled)
// and checks that Llama logits and BERT embeddings are finite. Usage: node check.mjs DIR
// where DIR holds llama-{f16,q8_0,q4_0}.gguf and bert-{f16,q8_0,q4_0}.gguf.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import path from "node:path";
import fs from "node:fs";

const dir = process.argv[2];
const types = ["f16", "q8_0", "q4_0"];
const texts = process.env.SLIMQ_TEXTS
    ? fs.readFileSync(process.env.SLIMQ_TEXTS, "utf8").split("\n").filter((l) => l.trim() !== "")
    : ["the quick brown fox jumps over the lazy dog", "hello world", "a small test of embeddings"];
const llamaLogs = [];
const llama = await getLlama({
    gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger(level, message) {
        const line = String(message).trimEnd();
        if (line !== "") llamaLogs.push(`[${level}] ${line}`);
    }
});
const binary = llama.buildType; // "prebuilt" unless it compiled
const rows = [];
const results = {};
let failed = false;
const finite = (v) => v.every((x) => Number.isFinite(x));
const cosine = (a, b) => {
    let d = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    return d / Math.sqrt(na * nb);
};

for (const arch of ["llama", "bert"]) {
    for (const type of types) {
        const file = path.join(dir, `${arch}-${type}.gguf`);
        const row = {file: path.basename(file), type, loaded: "no", check: ""};
        rows.push(row);
        row.logStart = llamaLogs.length;
        let model;
        try {
            model = await llama.loadModel({modelPath: file, gpuLayers: 0});
            row.loaded = "yes";
        } catch (e) {
            row.check = `LOAD FAILED: ${e.message}`;
            failed = true;
            continue;
        }
        try {
            if (arch === "llama") {
                const context = await model.createContext({contextSize: 64});
                const sequence = context.getSequence();
                const tokens = model.tokenize(texts[0]);
                if (tokens.length < 2) throw new Error(`tokenizer gave ${tokens.length} tokens`);
                const input = tokens.map((t, i) => i === tokens.length - 1 ? [t, {generateNext: {probabilities: true}}] : t);
                const out = await sequence.controlledEvaluate(input);
                const probs = out[out.length - 1]?.next?.probabilities;
                if (probs == null) throw new Error("no probabilities for the last token");
                const p = new Float64Array(model.tokens.vocabSize ?? probs.size);
                for (const [t, v] of probs) p[t] = v;
                const vals = [...probs.values()];
                row.tokens = tokens.length;
                const sum = vals.reduce((a, b) => a + b, 0);
                const ok = finite(vals) && probs.size > 1 && Math.abs(sum - 1) < 1e-3;
                const top = probs.entries().next().value;
                results[`${arch}-${type}`] = {p, top: top[0]};
                row.check = `${tokens.length} tokens, ${probs.size} next-token probs, sum ${sum.toFixed(4)}, top ${top[0]} (${top[1].toFixed(4)})`;
                if (type !== "f16" && results["llama-f16"]) {
                    const ref = results["llama-f16"].p;
                    let kl = 0;
                    for (let i = 0; i < p.length; i++) if (ref[i] > 0) kl += ref[i] * Math.log(ref[i] / Math.max(p[i], 1e-30));
                    row.check += `, KL(f16||${type}) ${kl.toExponential(2)}, top1 ${results["llama-f16"].top === top[0] ? "same" : "differs"}`;
                }
                row.check = (ok ? "OK: " : "FAIL: ") + row.check;
                if (!ok) failed = true;
                await context.dispose();
            } else {
                const context = await model.createEmbeddingContext({contextSize: 64});
                const vecs = [];
                for (const t of texts) vecs.push([...(await context.getEmbeddingFor(t)).vector]);
                const ok = vecs.every((v) => v.length > 0 && finite(v) && v.some((x) => x !== 0));
                results[`${arch}-${type}`] = vecs;
                const nTok = texts.reduce((n, t) => n + model.tokenize(t).length, 0);
                row.tokens = nTok;
                row.check = `${vecs.length} embeddings of dim ${vecs[0].length}, ${nTok} tokens w/o CLS/SEP, |v0| ${Math.hypot(...vecs[0]).toFixed(4)}`;
                if (type !== "f16" && results["bert-f16"]) {
                    const cos = vecs.map((v, i) => cosine(v, results["bert-f16"][i]));
                    const minCos = Math.min(...cos);
                    row.minCos = minCos;
                    row.meanCos = cos.reduce((a, b) => a + b, 0) / cos.length;
                    row.check += `, min cos vs f16 ${minCos.toFixed(5)}`;
                    if (type === "q8_0" && !(minCos >= 0.99)) { row.check += " (< 0.99)"; failed = true; row.bad = true; }
                }
                row.check = (ok && !row.bad ? "OK: " : "FAIL: ") + row.check;
                if (!ok) failed = true;
                await context.dispose();
            }
        } catch (e) {
            row.check = `FAIL: ${e.message}`;
            failed = true;
        }
        await model.dispose();
    }
}

console.log(`llama.cpp binary: ${binary} (never compiled), gpu: ${llama.gpu}, llama.cpp tag of node-llama-cpp: ${llama.llamaCppRelease?.release ?? "?"}`);
if (binary !== "prebuilt") { console.log("FAIL: expected the prebuilt binary"); failed = true; }
const w = [Math.max(...rows.map((r) => r.file.length)), 5, 6];
console.log(`${"file".padEnd(w[0])}  ${"type".padEnd(w[1])}  ${"loaded".padEnd(w[2])}  check`);
for (const r of rows) console.log(`${r.file.padEnd(w[0])}  ${r.type.padEnd(w[1])}  ${r.loaded.padEnd(w[2])}  ${r.check}`);
rows.forEach((r, i) => { r.logs = llamaLogs.slice(r.logStart, rows[i + 1]?.logStart ?? llamaLogs.length); });
for (const r of rows.filter((r) => r.loaded !== "yes")) {
    console.log(`\nllama.cpp log lines while loading ${r.file}:`);
    for (const l of r.logs) console.log(`  ${l}`);
}
const distinct = [...new Set(llamaLogs)];
if (distinct.length > 0) {
    console.log(`\nllama.cpp warnings/errors (${distinct.length} distinct):`);
    for (const l of distinct) console.log(`  ${l}`);
}
if (process.env.SLIMQ_LLAMACPP_JSON) fs.writeFileSync(process.env.SLIMQ_LLAMACPP_JSON, JSON.stringify({binary, rows}, null, 1));
process.exitCode = failed ? 1 : 0; // set before dispose: node-llama-cpp's exit hooks may end the process
await llama.dispose();
process.exit(failed ? 1 : 0);
