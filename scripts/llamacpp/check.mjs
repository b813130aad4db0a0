// Loads slimq's GGUF outputs in llama.cpp (node-llama-cpp's prebuilt CPU binary, never compiled).
// Llama: compares llama.cpp's token ids and next-token distributions with slimq's (slimq-NAME.json,
// written by check.sh); BERT: checks embeddings; XLM-R (Unigram tokenizer, llama.cpp's "t5"/UGM): compares
// llama.cpp's token ids and per-text embeddings with slimq's (slimq-xlmr-*.json). Usage: node check.mjs DIR,
// where DIR holds llama-{f16,q8_0,q4_0}.gguf, llama-spm-f16.gguf, bert-{f16,q8_0,q4_0}.gguf,
// xlmr-{f16,q8_0}.gguf, slimq-llama-*.json and slimq-xlmr-{f16,q8_0,orig}.json.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import path from "node:path";
import fs from "node:fs";

const dir = process.argv[2];
const types = ["f16", "q8_0", "q4_0"];
// Agreement limits with slimq's own forward pass on the same weights (check.sh's header says why).
const KL_LIMIT = {f16: 1e-4, q8_0: 1e-3, q4_0: 1e-3};
const PPL_LIMIT = {f16: 1e-3, q8_0: 5e-3, q4_0: 5e-3};
// XLM-R: least per-text cosine of llama.cpp's sentence embedding with slimq's own on the same GGUF's weights
// (read back); Q8_0 is looser because llama.cpp also quantizes the activations to 8 bits there.
const XLMR_COS_LIMIT = {f16: 0.9999, q8_0: 0.999};
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

const logSoftmax = (row) => {
    let m = -Infinity;
    for (const x of row) m = Math.max(m, x);
    let s = 0;
    for (const x of row) s += Math.exp(x - m);
    const l = Math.log(s) + m;
    return Float64Array.from(row, (x) => x - l);
};
const models = [...types.map((t) => ["llama", t, `llama-${t}`]), ["llama", "f16", "llama-spm-f16"], ...types.map((t) => ["bert", t, `bert-${t}`]),
    ...["f16", "q8_0"].map((t) => ["xlmr", t, `xlmr-${t}`])];
const xlmrTexts = process.env.SLIMQ_XLMR_TEXTS
    ? fs.readFileSync(process.env.SLIMQ_XLMR_TEXTS, "utf8").split("\n").filter((l) => l.trim() !== "") : [];
for (const [arch, type, name] of models) {
    {
        const file = path.join(dir, `${name}.gguf`);
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
                const context = await model.createContext({contextSize: 256, threads: 1});
                const sequence = context.getSequence();
                // slimq's own side: its token ids and decoder logits on this file's weights read back.
                const ref = JSON.parse(fs.readFileSync(path.join(dir, `slimq-${name}.json`), "utf8"));
                const st = {texts: 0, sameIds: 0, positions: 0, klMax: 0, klSum: 0, diffMax: 0, nllLlama: 0, nllSlimq: 0, nNll: 0, top1: 0, mismatch: []};
                let lastProbs = null;
                for (const t of ref.texts) {
                    const bos = model.tokens.shouldPrependBosToken && model.tokens.bos != null ? [model.tokens.bos] : [];
                    const ids = [...bos, ...model.tokenize(t.text)];
                    st.texts++;
                    if (ids.length === t.ids.length && ids.every((x, i) => x === t.ids[i])) st.sameIds++;
                    else st.mismatch.push(`"${t.text}": llama.cpp [${ids.join(" ")}] vs slimq [${t.ids.join(" ")}]`);
                    // Both engines run on slimq's ids, so the logits compare on the same input.
                    await sequence.clearHistory();
                    const out = await sequence.controlledEvaluate(t.ids.map((id) => [id, {generateNext: {probabilities: true}}]));
                    for (let pos = 0; pos < t.ids.length; pos++) {
                        const probs = out[pos]?.next?.probabilities;
                        const vocab = t.logits[pos].length;
                        if (probs == null || probs.size !== vocab) throw new Error(`position ${pos}: ${probs?.size} probabilities for a vocabulary of ${vocab}`);
                        const lpL = new Float64Array(vocab).fill(Math.log(1e-45));
                        for (const [tok, v] of probs) lpL[tok] = Math.log(Math.max(v, 1e-45));
                        const lpS = logSoftmax(t.logits[pos]);
                        let kl = 0, mL = 0, mS = 0;
                        for (let i = 0; i < vocab; i++) { kl += Math.exp(lpS[i]) * (lpS[i] - lpL[i]); mL += lpL[i]; mS += lpS[i]; }
                        mL /= vocab; mS /= vocab;
                        let diff = 0, aL = 0, aS = 0;
                        for (let i = 0; i < vocab; i++) {
                            diff = Math.max(diff, Math.abs((lpL[i] - mL) - (lpS[i] - mS)));
                            if (lpL[i] > lpL[aL]) aL = i;
                            if (lpS[i] > lpS[aS]) aS = i;
                        }
                        st.positions++;
                        st.klSum += kl;
                        st.klMax = Math.max(st.klMax, kl);
                        st.diffMax = Math.max(st.diffMax, diff);
                        if (aL === aS) st.top1++;
                        if (pos + 1 < t.ids.length) { st.nllLlama -= lpL[t.ids[pos + 1]]; st.nllSlimq -= lpS[t.ids[pos + 1]]; st.nNll++; }
                        lastProbs = lpL;
                    }
                }
                const pplL = Math.exp(st.nllLlama / st.nNll), pplS = Math.exp(st.nllSlimq / st.nNll);
                Object.assign(row, {tokens: ref.texts.reduce((n, t) => n + t.ids.length, 0), sameIds: st.sameIds, texts: st.texts, klMax: st.klMax,
                    klMean: st.klSum / st.positions, diffMax: st.diffMax, pplLlama: pplL, pplSlimq: pplS, top1: st.top1, positions: st.positions});
                const limit = KL_LIMIT[type];
                const ok = st.sameIds === st.texts && st.klMax <= limit && Math.abs(pplL / pplS - 1) <= PPL_LIMIT[type];
                row.check = `ids ${st.sameIds}/${st.texts} texts equal (${row.tokens} tokens); vs slimq on ${st.positions} positions: KL max ${st.klMax.toExponential(2)} `
                    + `(limit ${limit.toExponential(0)}) mean ${(st.klSum / st.positions).toExponential(2)}, max centered logit diff ${st.diffMax.toFixed(4)}, `
                    + `top-1 ${st.top1}/${st.positions}, perplexity ${pplL.toFixed(3)} vs ${pplS.toFixed(3)} (ratio limit 1±${PPL_LIMIT[type]})`;
                const p = Float64Array.from(lastProbs, Math.exp);
                results[name] = {p};
                const f16 = name.startsWith("llama-spm") ? null : results["llama-f16"];
                if (type !== "f16" && f16) {
                    let kl = 0;
                    for (let i = 0; i < p.length; i++) if (f16.p[i] > 0) kl += f16.p[i] * Math.log(f16.p[i] / Math.max(p[i], 1e-30));
                    row.check += `; llama.cpp KL(f16||${type}) last position ${kl.toExponential(2)}`;
                }
                row.check = (ok ? "OK: " : "FAIL: ") + row.check;
                for (const m of st.mismatch) row.check += `\n      token mismatch: ${m}`;
                if (!ok) failed = true;
                await context.dispose();
            } else if (arch === "xlmr") {
                // slimq's side: its ids (post-processor's <s> ... </s>) and embeddings from this GGUF read back,
                // and from the original float checkpoint (informational).
                const ref = JSON.parse(fs.readFileSync(path.join(dir, `slimq-${name}.json`), "utf8"));
                const orig = JSON.parse(fs.readFileSync(path.join(dir, "slimq-xlmr-orig.json"), "utf8"));
                const context = await model.createEmbeddingContext({contextSize: 64, threads: 1});
                const t = model.tokens;
                let sameIds = 0, nTok = 0;
                const cos = [], cosOrig = [], mismatch = [];
                const vecs = [];
                for (let i = 0; i < xlmrTexts.length; i++) {
                    // llama.cpp's own tokenization with the specials its GGUF flags ask for (add_bos/add_eos);
                    // node-llama-cpp's getEmbeddingFor(text) would add only </s> for a UGM vocabulary.
                    const ids = [...(t.shouldPrependBosToken ? [t.bos] : []), ...model.tokenize(xlmrTexts[i]), ...(t.shouldAppendEosToken ? [t.eos] : [])];
                    nTok += ids.length;
                    if (ids.length === ref.ids[i].length && ids.every((x, k) => x === ref.ids[i][k])) sameIds++;
                    else mismatch.push(`"${xlmrTexts[i]}": llama.cpp [${ids.join(" ")}] vs slimq [${ref.ids[i].join(" ")}]`);
                    const v = [...(await context.getEmbeddingFor(ids)).vector];
                    vecs.push(v);
                    cos.push(cosine(v, ref.embeddings[i]));
                    cosOrig.push(cosine(v, orig.embeddings[i]));
                }
                const minCos = Math.min(...cos), meanCos = cos.reduce((a, b) => a + b, 0) / cos.length;
                const ok = xlmrTexts.length > 0 && sameIds === xlmrTexts.length && vecs.every((v) => v.length > 0 && finite(v)) && minCos >= XLMR_COS_LIMIT[type];
                Object.assign(row, {tokens: nTok, sameIds, texts: xlmrTexts.length, minCos, meanCos, cos,
                    minCosOrig: Math.min(...cosOrig), meanCosOrig: cosOrig.reduce((a, b) => a + b, 0) / cosOrig.length});
                row.check = `${ok ? "OK" : "FAIL"}: ids ${sameIds}/${xlmrTexts.length} texts equal (${nTok} tokens with <s> </s>); per-text cos vs slimq `
                    + `(same GGUF) min ${minCos.toFixed(6)} mean ${meanCos.toFixed(6)} (limit ${XLMR_COS_LIMIT[type]}); vs slimq (original f32) min `
                    + `${row.minCosOrig.toFixed(6)} mean ${row.meanCosOrig.toFixed(6)}`;
                for (const m of mismatch) row.check += `\n      token mismatch: ${m}`;
                if (!ok) failed = true;
                await context.dispose();
            } else {
                const context = await model.createEmbeddingContext({contextSize: 64, threads: 1});
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
