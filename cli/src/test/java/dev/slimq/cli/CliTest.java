package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end through picocli's {@code execute}: exit codes, stdout/stderr split, messages. */
class CliTest {

    @TempDir
    static Path shared;

    static Path llama;
    static Path bert;

    @TempDir
    Path tmp;

    @BeforeAll
    static void checkpoints() {
        llama = shared.resolve("tiny-llama");
        bert = shared.resolve("tiny-bert");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
    }

    @Test
    void versionAndHelp() {
        CliRun v = run("--version");
        assertEquals(0, v.code());
        assertTrue(v.out().startsWith("slimq "), v.out());
        CliRun h = run("--help");
        assertEquals(0, h.code());
        assertTrue(h.out().contains("inspect") && h.out().contains("synth"), h.out());
        assertTrue(h.out().contains("Exit codes"), h.out());
        CliRun none = run();
        assertEquals(0, none.code());
        assertTrue(none.out().contains("Usage: slimq"), none.out());
    }

    @Test
    void inspectJsonHasTheDocumentedTopLevel() throws IOException {
        CliRun r = run("inspect", llama.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = r.json();
        assertEquals("llama", j.get("architecture").asText());
        assertEquals("llama", j.get("model_type").asText());
        // tiny llama: hidden 64, 2 layers, 4 heads x 16, 2 kv heads, intermediate 192, vocab 512, untied.
        long perLayer = 64L * 64 + 2 * (32L * 64) + 64L * 64 + 3 * (192L * 64) + 2 * 64;
        long expected = 512L * 64 * 2 + 2 * perLayer + 64;
        assertEquals(expected, j.get("parameters").asLong());
        assertEquals(3 + 2 * 9, j.get("tensor_count").asInt());
        assertEquals(expected * 2, j.get("tensor_bytes").asLong());
        assertEquals(2, j.get("layers").asInt());
        assertEquals(2, j.get("model").get("num_key_value_heads").asInt());
        assertEquals(expected, j.get("dtypes").get("BF16").get("parameters").asLong());
        assertEquals(14, j.get("roles").get("linear").get("tensors").asInt());
        assertFalse(j.has("tensors"), "per-tensor rows only on request");
        assertTrue(r.err().isEmpty(), r.err());
    }

    @Test
    void inspectTextAndTensorTable() {
        CliRun r = run("inspect", bert.toString(), "--tensors");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("architecture  bert"), r.out());
        assertTrue(r.out().contains("encoder.layer.1.attention.self.query.weight"), r.out());
        assertTrue(r.out().contains("bert_query"), r.out());
    }

    @Test
    void statsAreIdenticalForAnyThreadCount() throws IOException {
        CliRun one = run("inspect", llama.toString(), "--stats", "--json", "--threads", "1");
        CliRun two = run("inspect", llama.toString(), "--stats", "--json", "--threads", "2");
        assertEquals(0, one.code(), one.err());
        assertEquals(one.out(), two.out());
        JsonNode row = one.json().get("tensors").get(0);
        assertTrue(row.get("stats").has("beyond3_sigma"), row.toString());
        assertTrue(row.get("stats").get("std").asDouble() > 0);
    }

    @Test
    void statsOfASingleFile() throws IOException {
        CliRun r = run("inspect", llama.resolve("model.safetensors").toString(), "--stats", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = r.json();
        // Without config.json the layout falls back to name/shape rules.
        assertEquals("unknown", j.get("architecture").asText());
        for (JsonNode t : j.get("tensors")) {
            JsonNode s = t.get("stats");
            assertEquals(0, s.get("nan_count").asLong(), t.get("name").asText());
            assertTrue(s.get("min").asDouble() <= s.get("mean").asDouble() && s.get("mean").asDouble() <= s.get("max").asDouble());
        }
    }

    @Test
    void missingPathIsAnIoError() {
        CliRun r = run("inspect", tmp.resolve("nope").toString());
        assertEquals(ExitCode.IO.code(), r.code());
        assertOneLineError(r);
    }

    @Test
    void malformedFileIsBadInput() throws IOException {
        Path bad = tmp.resolve("bad.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        CliRun r = run("inspect", bad.toString());
        assertEquals(ExitCode.BAD_INPUT.code(), r.code());
        assertOneLineError(r);
        assertTrue(r.err().contains("bad.safetensors"), r.err());
        assertTrue(r.out().isEmpty());
    }

    @Test
    void hostileFilesAllExitThree() throws IOException {
        Path dir = Path.of("../testdata/hostile");
        assertTrue(Files.isDirectory(dir), "testdata/hostile must exist");
        try (var s = Files.list(dir)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".safetensors")).sorted().toList()) {
                CliRun r = run("inspect", p.toString(), "--stats");
                assertEquals(ExitCode.BAD_INPUT.code(), r.code(), p + ": " + r.err());
                assertOneLineError(r);
            }
        }
    }

    @Test
    void stacktraceOnlyWhenAsked() throws IOException {
        Path bad = tmp.resolve("bad.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        CliRun r = run("inspect", bad.toString(), "--stacktrace");
        assertEquals(ExitCode.BAD_INPUT.code(), r.code());
        assertTrue(r.err().contains("\tat "), r.err());
    }

    @Test
    void usageErrorsExitTwo() {
        CliRun unknown = run("inspect", llama.toString(), "--no-such-option");
        assertEquals(ExitCode.USAGE.code(), unknown.code());
        assertTrue(unknown.err().contains("--no-such-option"), unknown.err());
        assertEquals(ExitCode.USAGE.code(), run("inspect").code());
        assertEquals(ExitCode.USAGE.code(), run("inspect", llama.toString(), "--threads", "0").code());
        assertEquals(ExitCode.USAGE.code(), run("no-such-command").code());
    }

    @Test
    void synthWritesAnInspectableCheckpointAndRefusesToOverwrite() throws IOException {
        Path out = tmp.resolve("gen");
        CliRun r = run("synth", out.toString(), "--arch", "llama", "--size", "tiny", "--json", "--max-shard-size", "100kB");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(out.resolve("model.safetensors.index.json")));
        assertTrue(r.json().get("files").toString().contains("tokenizer.json"));
        CliRun again = run("synth", out.toString());
        assertEquals(ExitCode.USAGE.code(), again.code());
        assertTrue(again.err().contains("--force") || again.err().contains("force"), again.err());
        assertEquals(0, run("synth", out.toString(), "--force").code());
        CliRun i = run("inspect", out.toString(), "--json");
        assertEquals(0, i.code(), i.err());
        assertEquals(1, i.json().get("shards").asInt());
        assertEquals(ExitCode.USAGE.code(), run("synth", tmp.resolve("b").toString(), "--size", "huge").code());
        assertEquals(ExitCode.USAGE.code(), run("synth", tmp.resolve("c").toString(), "--max-shard-size", "-5").code());
    }

    @Test
    void quantizeThenDequantize() throws IOException {
        Path q = tmp.resolve("q");
        CliRun r = run("quantize", llama.toString(), q.toString(), "--group-size", "64", "--json", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        JsonNode j = r.json();
        assertTrue(j.get("bits_per_weight").asDouble() > 4 && j.get("bits_per_weight").asDouble() < 5, j.toString());
        assertEquals(14, j.get("tensors").size());
        assertTrue(j.get("tensors").get(0).has("sqnr_db"));
        assertTrue(j.get("timings").has("total_seconds"));
        assertTrue(Files.isRegularFile(q.resolve("quantization-report.json")));
        CliRun text = run("quantize", llama.toString(), tmp.resolve("q2").toString(), "--method", "rtn", "--format", "slimq", "--group-size", "channel");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("worst tensors"), text.out());
        CliRun d = run("dequantize", q.toString(), tmp.resolve("d").toString(), "--json");
        assertEquals(0, d.code(), d.err());
        assertEquals(14, d.json().get("weights").asInt());
        CliRun again = run("inspect", tmp.resolve("d").toString(), "--json");
        assertEquals("llama", again.json().get("architecture").asText());
    }

    @Test
    void quantizeRefusalsHaveTheirExitCodes() {
        String in = llama.toString();
        assertEquals(ExitCode.UNSUPPORTED.code(), run("quantize", in, tmp.resolve("a").toString(), "--outliers", "on").code());
        assertEquals(ExitCode.UNSUPPORTED.code(), run("quantize", in, tmp.resolve("a").toString(), "--bits", "3", "--target", "vllm").code());
        assertEquals(ExitCode.USAGE.code(), run("quantize", in, tmp.resolve("a").toString(), "--bits", "5").code());
        assertEquals(ExitCode.USAGE.code(), run("quantize", in, tmp.resolve("a").toString(), "--method", "magic").code());
        assertEquals(ExitCode.USAGE.code(), run("quantize", in, tmp.resolve("a").toString(), "--format", "onnx").code());
        assertEquals(ExitCode.USAGE.code(), run("quantize", in, llama.resolve("inside").toString()).code());
        assertEquals(ExitCode.UNSUPPORTED.code(), run("dequantize", in, tmp.resolve("b").toString()).code());
        CliRun dry = run("quantize", in, tmp.resolve("dry").toString(), "--dry-run");
        assertEquals(0, dry.code(), dry.err());
        assertFalse(Files.exists(tmp.resolve("dry")));
        assertFalse(Files.exists(tmp.resolve("a")));
    }

    @Test
    void validateRunsEveryLayerThroughTheKernels() throws IOException {
        Path q = tmp.resolve("vq");
        assertEquals(0, run("quantize", llama.toString(), q.toString(), "--format", "slimq", "--group-size", "32", "-q").code());
        for (String device : new String[] {"opencl", "cpu"}) {
            CliRun r = run("validate", q.toString(), "--reference", llama.toString(), "--device", device, "--json", "-q");
            assertEquals(0, r.code(), device + ": " + r.err());
            JsonNode j = r.json();
            assertEquals(14, j.get("layers").size());
            for (JsonNode l : j.get("layers")) {
                assertTrue(l.get("kernel_rel_error").asDouble() <= 1e-5, l.toString());
                double out = l.get("output_rel_error").asDouble();
                assertTrue(out > 1e-4 && out < 0.5, l.toString());
            }
        }
        Path report = tmp.resolve("validation.json");
        CliRun strict = run("validate", q.toString(), "--reference", llama.toString(), "--max-error", "1e-6", "--report", report.toString());
        assertEquals(ExitCode.QUALITY.code(), strict.code(), strict.err());
        assertTrue(strict.out().contains("OVER --max-error"), strict.out());
        assertTrue(Files.size(report) > 100);
        assertEquals(ExitCode.DEVICE.code(), run("validate", q.toString(), "--device", "opencl:99").code());
        assertEquals(ExitCode.UNSUPPORTED.code(), run("validate", llama.toString()).code());
        assertEquals(ExitCode.USAGE.code(), run("validate", q.toString(), "--activations", "f64").code());
    }

    @Test
    void reduceTokensWritesReducedTensorsWithIndicesAndSizes() throws IOException {
        Path in = tmp.resolve("tokens.safetensors");
        var x = dev.slimq.core.tensor.TensorInfo.planned("x", dev.slimq.core.tensor.DType.F32, 2, 16, 8);
        var sc = dev.slimq.core.tensor.TensorInfo.planned("attn", dev.slimq.core.tensor.DType.F32, 2, 16);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        try (var w = dev.slimq.core.safetensors.SafetensorsWriter.create(in, dev.slimq.core.safetensors.WritePlan.of(java.util.List.of(x, sc)))) {
            float[] xv = new float[2 * 16 * 8];
            for (int i = 0; i < xv.length; i++) {
                xv[i] = (float) rnd.nextGaussian();
            }
            float[] sv = new float[2 * 16];
            for (int i = 0; i < sv.length; i++) {
                sv[i] = (float) rnd.nextDouble();
            }
            w.writeFloats("x", xv);
            w.writeFloats("attn", sv);
            w.commit();
        }
        Path out = tmp.resolve("reduced.safetensors");
        CliRun r = run("reduce-tokens", in.toString(), out.toString(), "--tensor", "x", "--method", "tome", "--keep", "0.5", "--json");
        assertEquals(0, r.code(), r.err());
        try (var f = dev.slimq.core.safetensors.SafetensorsFile.open(out)) {
            assertEquals("[2, 8, 8]", java.util.Arrays.toString(f.tensor("x").shape()));
            assertEquals("[2, 8]", java.util.Arrays.toString(f.tensor("x.kept_index").shape()));
            assertEquals(dev.slimq.core.tensor.DType.I64, f.tensor("x.kept_index").dtype());
            assertEquals("[2, 8]", java.util.Arrays.toString(f.tensor("x.sizes").shape()));
            assertTrue(f.header().contains("attn"), "other tensors are copied through");
        }
        assertEquals(ExitCode.UNSUPPORTED.code(), run("reduce-tokens", in.toString(), tmp.resolve("r2.safetensors").toString(),
                "--tensor", "x", "--method", "fastv", "--keep", "0.5").code());
        assertEquals(0, run("reduce-tokens", in.toString(), tmp.resolve("r3.safetensors").toString(),
                "--tensor", "x", "--method", "fastv", "--scores", "attn", "--preset", "22").code());
        // An existing file slimq did not write (no fingerprint) is never replaced without --force ...
        Path foreign = tmp.resolve("foreign.safetensors");
        Files.writeString(foreign, "not slimq's");
        assertEquals(ExitCode.USAGE.code(), run("reduce-tokens", in.toString(), foreign.toString(), "--tensor", "x", "--keep", "0.5").code());
        assertEquals("not slimq's", Files.readString(foreign));
        // ... while slimq's own earlier result is: the same command is up to date, another one redoes it.
        CliRun again = run("reduce-tokens", in.toString(), out.toString(), "--tensor", "x", "--method", "tome", "--keep", "0.5");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("up to date: " + out), again.err());
        assertEquals(0, run("reduce-tokens", in.toString(), out.toString(), "--tensor", "x", "--keep", "0.25").code());
        try (var f = dev.slimq.core.safetensors.SafetensorsFile.open(out)) {
            assertEquals("[2, 4, 8]", java.util.Arrays.toString(f.tensor("x").shape()));
        }
    }

    @Test
    void convertToGgufAndBackGivesAnInspectableCheckpoint() throws IOException {
        for (Path model : new Path[] {llama, bert}) {
            Path gguf = tmp.resolve(model.getFileName() + ".gguf");
            CliRun to = run("convert", model.toString(), gguf.toString(), "--to", "gguf", "--type", "q8_0", "--json");
            assertEquals(0, to.code(), to.err());
            Path back = tmp.resolve(model.getFileName() + "-back");
            CliRun from = run("convert", gguf.toString(), back.toString(), "--to", "safetensors");
            assertEquals(0, from.code(), from.err());
            CliRun i = run("inspect", back.toString(), "--json");
            assertEquals(0, i.code(), i.err());
            CliRun orig = run("inspect", model.toString(), "--json");
            assertEquals(orig.json().get("architecture"), i.json().get("architecture"));
            assertEquals(orig.json().get("layers"), i.json().get("layers"));
        }
        Path optimized = tmp.resolve("opt.gguf");
        Path reference = tmp.resolve("ref.gguf");
        assertEquals(0, run("convert", llama.toString(), optimized.toString(), "--to", "gguf", "--type", "q4_0", "--method", "search").code());
        assertEquals(0, run("convert", llama.toString(), reference.toString(), "--to", "gguf", "--type", "q4_0").code());
        assertEquals(Files.size(reference), Files.size(optimized), "slimq-optimized blocks take exactly llama.cpp's bytes");
        assertEquals(ExitCode.USAGE.code(), run("convert", llama.toString(), tmp.resolve("m.gguf").toString(), "--to", "gguf", "--type", "f16", "--method", "search").code());
        Path arrow = tmp.resolve("tensors.arrow");
        assertEquals(0, run("convert", llama.toString(), arrow.toString(), "--to", "arrow", "--with-data").code());
        byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(arrow), 6);
        assertEquals("ARROW1", new String(head, java.nio.charset.StandardCharsets.US_ASCII));
        Path bad = tmp.resolve("bad.gguf");
        Files.write(bad, new byte[] {'G', 'G', 'U', 'F', 9, 0, 0, 0});
        CliRun r = run("convert", bad.toString(), tmp.resolve("x").toString(), "--to", "safetensors");
        assertEquals(ExitCode.BAD_INPUT.code(), r.code(), r.err());
        assertOneLineError(r);
    }

    @Test
    void pruneWritesAConfigConsistentCheckpoint() throws IOException {
        Path out = tmp.resolve("pruned");
        CliRun r = run("prune", llama.toString(), out.toString(), "--ratio", "0.25", "--units", "mlp", "--multiple-of", "16", "--json");
        assertEquals(0, r.code(), r.err());
        CliRun i = run("inspect", out.toString(), "--json");
        assertEquals(0, i.code(), i.err());
        int width = i.json().get("model").get("intermediate_size").asInt();
        assertTrue(width < 192 && width % 16 == 0, "intermediate " + width);
        CliRun q = run("quantize", out.toString(), tmp.resolve("pq").toString(), "--group-size", "16", "-q");
        assertEquals(0, q.code(), q.err());
        assertEquals(ExitCode.UNSUPPORTED.code(), run("prune", llama.toString(), tmp.resolve("x").toString(), "--ratio", "0.2", "--layout", "deci").code());
        // An existing directory slimq did not write needs --force; slimq's own earlier result is redone.
        Path foreign = tmp.resolve("foreign-dir");
        Files.createDirectories(foreign);
        assertEquals(ExitCode.USAGE.code(), run("prune", llama.toString(), foreign.toString(), "--ratio", "0.2").code());
        CliRun again = run("prune", llama.toString(), out.toString(), "--ratio", "0.25", "--units", "mlp", "--multiple-of", "16");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("up to date"), again.err());
        assertEquals(0, run("prune", llama.toString(), out.toString(), "--ratio", "0.2").code());
    }

    @Test
    void evalComparesAnEncoderWithItsOriginal() throws IOException {
        CliRun self = run("eval", bert.toString(), "--reference", bert.toString(), "--json");
        assertEquals(0, self.code(), self.err());
        assertEquals(1.0, self.json().get("comparison").get("mean_cos").asDouble(), 1e-6, self.out());
        Path q = tmp.resolve("bq");
        assertEquals(0, run("quantize", bert.toString(), q.toString(), "--format", "dequantized", "--bits", "3", "--group-size", "32", "-q").code());
        CliRun r = run("eval", q.toString(), "--reference", bert.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        double cos = r.json().get("comparison").get("mean_cos").asDouble();
        assertTrue(cos < 1.0 && cos > 0.5, "3-bit model cosine " + cos);
        assertEquals(ExitCode.QUALITY.code(), run("eval", q.toString(), "--reference", bert.toString(), "--min-cosine", "0.99999").code());
        assertEquals(ExitCode.USAGE.code(), run("eval", bert.toString(), "--pooling", "max").code());
        CliRun tome = run("eval", bert.toString(), "--token-reduction", "tome:r=2", "--json");
        assertEquals(0, tome.code(), tome.err());
        assertTrue(tome.out().contains("speedup"), tome.out());
        assertEquals(ExitCode.USAGE.code(), run("eval", bert.toString(), "--token-reduction", "tome:q=2").code());
    }

    @Test
    void trimVocabKeepsTheCorpusEmbeddingsExactly() throws IOException {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "the model reads a short text\nand the same words come back\n");
        Path out = tmp.resolve("trimmed");
        CliRun r = run("trim-vocab", bert.toString(), out.toString(), "--corpus", corpus.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        CliRun i = run("inspect", out.toString(), "--json");
        assertEquals(0, i.code(), i.err());
        int vocab = i.json().get("model").get("vocab_size").asInt();
        assertTrue(vocab < 1024 && vocab % 64 == 0, "vocab " + vocab);
        CliRun e = run("eval", out.toString(), "--reference", bert.toString(), "--texts", corpus.toString(), "--json");
        assertEquals(0, e.code(), e.err());
        assertEquals(1.0, e.json().get("comparison").get("mean_cos").asDouble(), 1e-6);
        assertEquals(ExitCode.USAGE.code(), run("trim-vocab", bert.toString(), tmp.resolve("x").toString()).code());
    }

    @Test
    void calibrateWritesTheStatisticsFile() throws IOException {
        Path stats = tmp.resolve("stats.safetensors");
        CliRun r = run("calibrate", bert.toString(), stats.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        try (var f = dev.slimq.core.safetensors.SafetensorsFile.open(stats)) {
            assertEquals(0, f.tensor("layers.0.cos_in_out").rank());
            assertEquals("[64]", java.util.Arrays.toString(f.tensor("layers.1.intermediate.dense.input_var").shape()));
            assertEquals("[256]", java.util.Arrays.toString(f.tensor("layers.1.output.dense.input_mean").shape()));
            assertTrue(f.metadata().containsKey("model_fingerprint"));
        }
        // The same run again is up to date (IncrementalCliTest has the rest of that behaviour).
        CliRun again = run("calibrate", bert.toString(), stats.toString());
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("up to date"), again.err());
        assertEquals(0, run("calibrate", llama.toString(), tmp.resolve("s2.safetensors").toString(), "--window", "64").code());
    }

    @Test
    void shardedQuantizeMergesToTheSingleMachineBytes() throws IOException {
        Path single = tmp.resolve("single");
        assertEquals(0, run("quantize", llama.toString(), single.toString(), "--format", "slimq", "-q").code());
        String[] parts = new String[3];
        for (int k = 1; k <= 3; k++) {
            parts[k - 1] = tmp.resolve("part" + k).toString();
            CliRun p = run("quantize", llama.toString(), parts[k - 1], "--format", "slimq", "--shard", k + "/3", "-q");
            assertEquals(0, p.code(), p.err());
        }
        Path merged = tmp.resolve("merged");
        CliRun m = run("merge", merged.toString(), parts[2], parts[0], parts[1]);
        assertEquals(0, m.code(), m.err());
        for (String f : new String[] {"model.safetensors", "config.json", "quantization-report.json", "tokenizer.json"}) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(Files.readAllBytes(single.resolve(f)), Files.readAllBytes(merged.resolve(f)), f);
        }
        CliRun missing = run("merge", tmp.resolve("m2").toString(), parts[0], parts[1]);
        assertEquals(ExitCode.BAD_INPUT.code(), missing.code(), missing.err());
        assertEquals(ExitCode.USAGE.code(), run("quantize", llama.toString(), tmp.resolve("p").toString(), "--shard", "4/3").code());
    }

    @Test
    void evalOfADecoderReportsPerplexity() throws IOException {
        Path q = tmp.resolve("lq");
        assertEquals(0, run("quantize", llama.toString(), q.toString(), "--format", "dequantized", "--group-size", "64", "-q").code());
        CliRun r = run("eval", q.toString(), "--reference", llama.toString(), "--window", "64", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = r.json();
        double ppl = j.get("model").get("perplexity").asDouble();
        assertTrue(Double.isFinite(ppl) && ppl > 1, j.toString());
        assertTrue(j.get("perplexity_ratio").asDouble() > 0.5 && j.get("perplexity_ratio").asDouble() < 2, j.toString());
        assertEquals(ExitCode.QUALITY.code(), run("eval", q.toString(), "--reference", llama.toString(), "--max-perplexity-ratio", "0.1").code());
        assertEquals(ExitCode.USAGE.code(), run("eval", q.toString(), "--max-perplexity-ratio", "1.1").code());
    }

    private static void assertOneLineError(CliRun r) {
        String err = r.err().strip();
        assertTrue(err.startsWith("slimq: error: "), err);
        assertEquals(1, err.lines().count(), err);
    }
}
