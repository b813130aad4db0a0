package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimq calibrate} and {@code slimq eval} on decoders end to end, and how their output feeds {@code prune}. */
class RuntimeCliTest {

    @TempDir
    static Path shared;
    static Path llama;
    static Path bert;

    @TempDir
    Path tmp;

    @BeforeAll
    static void checkpoints() {
        llama = shared.resolve("tiny-llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
        bert = shared.resolve("tiny-bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
    }

    /**
     * Decoder statistics: the documented names and shapes, the same bytes for 1 and 2 threads, and
     * prune scores units from them (bias compensation needs biases the tiny llama does not have).
     */
    @Test
    void calibrateADecoderThenPruneWithItsStatistics() throws IOException {
        Path one = tmp.resolve("one.safetensors");
        Path two = tmp.resolve("two.safetensors");
        CliRun r = run("calibrate", llama.toString(), two.toString(), "--window", "64", "--threads", "2", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals("llama", r.json().get("architecture").asText());
        assertEquals(0, run("calibrate", llama.toString(), one.toString(), "--window", "64", "--threads", "1").code());
        assertArrayEquals(Files.readAllBytes(one), Files.readAllBytes(two));
        try (SafetensorsFile f = SafetensorsFile.open(two)) {
            // tiny llama: hidden 64, 4 heads x 16, intermediate 192.
            assertEquals("[64]", Arrays.toString(f.tensor("layers.1.self_attn.q_proj.input_var").shape()));
            assertEquals("[64]", Arrays.toString(f.tensor("layers.1.self_attn.o_proj.input_mean").shape()));
            assertEquals("[64]", Arrays.toString(f.tensor("layers.1.mlp.gate_proj.input_absmean").shape()));
            assertEquals("[192]", Arrays.toString(f.tensor("layers.1.mlp.down_proj.input_absmax").shape()));
            assertEquals("64", f.metadata().get("window"));
        }
        Path pruned = tmp.resolve("pruned");
        CliRun p = run("prune", llama.toString(), pruned.toString(), "--ratio", "0.25", "--units", "mlp", "--stats", two.toString(),
                "--no-bias-compensation", "--json");
        assertEquals(0, p.code(), p.err());
        assertTrue(Files.isRegularFile(pruned.resolve("model.safetensors")));
        assertEquals(ExitCode.USAGE.code(), run("calibrate", llama.toString(), tmp.resolve("w.safetensors").toString(), "--window", "0").code());
    }

    /** Quantizes {@code model} in {@code format} and writes its F32 dequantized copy; returns {quantized, dequantized}. */
    Path[] quantizedAndDequantized(Path model, String format) {
        Path q = tmp.resolve(model.getFileName() + "-" + format);
        Path dq = tmp.resolve(model.getFileName() + "-" + format + "-dq");
        CliRun qr = run("quantize", model.toString(), q.toString(), "--format", format, "--group-size", "64", "-q");
        assertEquals(0, qr.code(), qr.err());
        CliRun dr = run("dequantize", q.toString(), dq.toString(), "--dtype", "F32");
        assertEquals(0, dr.code(), dr.err());
        return new Path[] {q, dq};
    }

    /** eval reads compressed-tensors, GPTQ and slimq checkpoints directly: the same numbers as on their dequantized copies. */
    @Test
    void evalOfQuantizedDecodersEqualsEvalOfTheirDequantizedCopies() throws IOException {
        for (String format : new String[] {"compressed-tensors", "gptq", "slimq"}) {
            Path[] m = quantizedAndDequantized(llama, format);
            CliRun direct = run("eval", m[0].toString(), "--reference", llama.toString(), "--window", "64", "--json");
            assertEquals(0, direct.code(), format + ": " + direct.err());
            CliRun copy = run("eval", m[1].toString(), "--reference", llama.toString(), "--window", "64", "--json");
            assertEquals(0, copy.code(), copy.err());
            JsonNode a = direct.json();
            JsonNode b = copy.json();
            assertEquals(b.get("model").get("perplexity").asDouble(), a.get("model").get("perplexity").asDouble(), 0.0, format);
            assertEquals(b.get("perplexity_ratio").asDouble(), a.get("perplexity_ratio").asDouble(), 0.0, format);
            assertTrue(a.get("perplexity_ratio").asDouble() != 1.0, format + ": quantization changed nothing? " + a);
            assertEquals(b.get("comparison").get("kl_mean").asDouble(), a.get("comparison").get("kl_mean").asDouble(), 0.0, format);
        }
    }

    /** Encoder eval with --max-tokens: only the leading texts that fit (at least one). */
    @Test
    void encoderEvalTakesTheLeadingTextsWithinMaxTokens() throws IOException {
        Path texts = tmp.resolve("texts.txt");
        // tiny-bert's WordPiece: each line is [CLS] + its words + [SEP]; exact counts are read back from the run
        Files.writeString(texts, "the quick brown fox\njumps over\nthe lazy dog again and again\n");
        CliRun all = run("eval", bert.toString(), "--texts", texts.toString(), "--json");
        assertEquals(3, all.json().get("model").get("texts").asInt(), all.out());
        long total = all.json().get("model").get("tokens").asLong();
        CliRun some = run("eval", bert.toString(), "--texts", texts.toString(), "--max-tokens", String.valueOf(total - 1), "--json");
        assertEquals(0, some.code(), some.err());
        assertEquals(2, some.json().get("model").get("texts").asInt(), some.out());
        CliRun one = run("eval", bert.toString(), "--texts", texts.toString(), "--max-tokens", "1", "--json");
        assertEquals(1, one.json().get("model").get("texts").asInt(), "at least one text");
    }

    /** Decoder eval against a reference: KL and top-1 agreement in --json, the --max-kl gate, --max-tokens. */
    @Test
    void decoderEvalReportsKlAndGatesOnIt() throws IOException {
        Path q = tmp.resolve("q4");
        assertEquals(0, run("quantize", llama.toString(), q.toString(), "--bits", "4", "--group-size", "64", "-q").code());
        CliRun r = run("eval", q.toString(), "--reference", llama.toString(), "--window", "64", "--max-tokens", "300", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode c = r.json().get("comparison");
        assertEquals(300, r.json().get("model").get("tokens").asInt());
        // 300 tokens in windows of 64: 4 full windows (63 predictions each) and one of 44 (43).
        assertEquals(4 * 63 + 43, c.get("positions").asInt());
        double kl = c.get("kl_mean").asDouble();
        assertTrue(kl > 0 && kl <= c.get("kl_p99").asDouble() && c.get("kl_p99").asDouble() <= c.get("kl_max").asDouble(), c.toString());
        assertTrue(c.get("top1_agreement").asDouble() > 0 && c.get("top1_agreement").asDouble() <= 1, c.toString());
        assertEquals(c.get("ppl_candidate").asDouble() / c.get("ppl_reference").asDouble(), r.json().get("perplexity_ratio").asDouble(), 1e-12);
        CliRun gate = run("eval", q.toString(), "--reference", llama.toString(), "--window", "64", "--max-tokens", "300",
                "--max-kl", String.valueOf(kl / 2));
        assertEquals(ExitCode.QUALITY.code(), gate.code(), gate.out());
        assertTrue(gate.out().contains("over --max-kl"), gate.out());
        assertEquals(0, run("eval", q.toString(), "--reference", llama.toString(), "--window", "64", "--max-tokens", "300",
                "--max-kl", String.valueOf(kl * 2)).code());
        assertEquals(ExitCode.USAGE.code(), run("eval", q.toString(), "--max-kl", "0.1").code());
    }

    @Test
    void evalAndCalibrateOfAQuantizedEncoderEqualTheirDequantizedCopy() throws IOException {
        Path[] m = quantizedAndDequantized(bert, "compressed-tensors");
        CliRun direct = run("eval", m[0].toString(), "--reference", bert.toString(), "--json");
        assertEquals(0, direct.code(), direct.err());
        CliRun copy = run("eval", m[1].toString(), "--reference", bert.toString(), "--json");
        assertEquals(0, copy.code(), copy.err());
        JsonNode a = direct.json().get("comparison");
        JsonNode b = copy.json().get("comparison");
        assertEquals(b.toString(), a.toString());
        assertTrue(a.get("mean_cos").asDouble() < 1.0, a.toString());

        Path s1 = tmp.resolve("direct.safetensors");
        Path s2 = tmp.resolve("copy.safetensors");
        assertEquals(0, run("calibrate", m[0].toString(), s1.toString()).code());
        assertEquals(0, run("calibrate", m[1].toString(), s2.toString()).code());
        try (SafetensorsFile f1 = SafetensorsFile.open(s1); SafetensorsFile f2 = SafetensorsFile.open(s2)) {
            assertEquals(f2.header().tensors().size(), f1.header().tensors().size());
            for (var t : f2.header().tensors()) {
                float[] x = new float[Math.toIntExact(t.elementCount())];
                float[] y = new float[x.length];
                try (var v = f1.map(t.name())) {
                    v.readFloats(0, x, 0, x.length);
                }
                try (var v = f2.map(t.name())) {
                    v.readFloats(0, y, 0, y.length);
                }
                assertArrayEquals(y, x, t.name());
            }
            // Same weights, different files: the fingerprints tell the two checkpoints apart.
            assertTrue(!f1.metadata().get("model_fingerprint").equals(f2.metadata().get("model_fingerprint")));
        }
    }
}
