package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.BertEncoder;
import dev.slimq.runtime.bert.BertWeights;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.runtime.bert.Pooling;
import dev.slimq.runtime.llama.LlamaDecoder;
import dev.slimq.runtime.llama.LlamaWeights;
import dev.slimq.testdata.CheckpointEdit;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimq prune} without statistics: the {@code gauss} default against the l2 baseline, judged by the runtime's forward passes. */
class DataFreePruneCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int[] TOKENS = {1, 17, 140, 5, 99, 211, 64, 3, 111, 12};

    @TempDir
    Path tmp;

    private Path tinyLlama() {
        return SynthCheckpoint.write(SynthSpec.tinyLlama(), tmp.resolve("llama")).dir();
    }

    @Test
    void gaussIsTheDataFreeDefaultAndL1L2StayAvailable() throws IOException {
        Path in = tinyLlama();
        CliRun r = run("prune", in.toString(), tmp.resolve("g").toString(), "--ratio", "0.2", "--units", "mlp", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals("gauss", r.json().get("importance").asText(), r.out());
        assertTrue(r.json().get("layer_importance").asText().startsWith("gauss:"), r.out());
        for (String base : new String[] {"l1", "l2"}) {
            CliRun b = run("prune", in.toString(), tmp.resolve(base).toString(), "--ratio", "0.2", "--units", "mlp", "--importance", base, "--json");
            assertEquals(0, b.code(), b.err());
            assertEquals(base, b.json().get("importance").asText());
            assertTrue(b.json().get("layer_importance").asText().startsWith("weights:"), b.out());
        }
        CliRun text = run("prune", in.toString(), tmp.resolve("t").toString(), "--ratio", "0.2");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("gauss importance"), text.out());
        CliRun bad = run("prune", in.toString(), tmp.resolve("x").toString(), "--ratio", "0.2", "--importance", "l3");
        assertEquals(ExitCode.USAGE.code(), bad.code());
        assertTrue(bad.err().contains("gauss") && bad.err().strip().lines().count() == 1, bad.err());
    }

    @Test
    void outputIsByteIdenticalAcrossThreadCounts() throws IOException {
        Path in = SynthCheckpoint.write(SynthSpec.tinyBert(), tmp.resolve("bert")).dir();
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        assertEquals(0, run("prune", in.toString(), a.toString(), "--ratio", "0.3", "--layout", "mask", "--threads", "1").code());
        assertEquals(0, run("prune", in.toString(), b.toString(), "--ratio", "0.3", "--layout", "mask", "--threads", "3").code());
        assertArrayEquals(Files.readAllBytes(a.resolve("model.safetensors")), Files.readAllBytes(b.resolve("model.safetensors")));
        // the reports differ only in the output path they name
        JsonNode ra = JSON.readTree(a.resolve("prune-report.json").toFile());
        JsonNode rb = JSON.readTree(b.resolve("prune-report.json").toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) ra).remove("output");
        ((com.fasterxml.jackson.databind.node.ObjectNode) rb).remove("output");
        assertEquals(ra, rb);
        assertEquals("gauss", ra.get("importance").asText());
    }

    /** Copies a checkpoint (with its tokenizer and config), editing the floats of some tensors. */
    private Path edited(Path src, String name, BiConsumer<String, float[]> edit) throws IOException {
        return CheckpointEdit.copy(src, tmp.resolve(name), edit);
    }

    private static float[][] embed(Path dir, List<Encoding> batch) {
        try (Checkpoint c = Checkpoint.open(dir); WorkPool pool = new WorkPool(2)) {
            return new BertEncoder(BertWeights.load(c), pool, LinearKernel.SCALAR).embed(batch, Pooling.MEAN);
        }
    }

    private static double meanCosine(float[][] a, float[][] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int j = 0; j < a[i].length; j++) {
                dot += (double) a[i][j] * b[i][j];
                na += (double) a[i][j] * a[i][j];
                nb += (double) b[i][j] * b[i][j];
            }
            sum += dot / Math.sqrt(na * nb);
        }
        return sum / a.length;
    }

    @Test
    void gaussDropsTheNeuronsASwitchedOffChannelFeedsWhereL2KeepsThem() throws IOException {
        // every layer's MLP LayerNorm switches channel 0 off (γ = β = 0); a quarter of the neurons read almost only
        // channel 0 with large weights: big l2 norms, no activity. Removing 20 % should take exactly those.
        Path src = SynthCheckpoint.write(SynthSpec.tinyBert(), tmp.resolve("bert")).dir();
        int hidden;
        int inter;
        try (Checkpoint c = Checkpoint.open(src)) {
            hidden = c.layout().config().orElseThrow().hiddenSize();
            inter = c.layout().config().orElseThrow().intermediateSize();
        }
        int h = hidden;
        int dead = inter / 4;
        Path in = edited(src, "bert-dead", (name, v) -> {
            if (name.endsWith("attention.output.LayerNorm.weight") || name.endsWith("attention.output.LayerNorm.bias")) {
                v[0] = 0;
            } else if (name.endsWith("intermediate.dense.weight")) {
                for (int j = 0; j < dead; j++) {
                    for (int c = 0; c < h; c++) {
                        v[(4 * j) * h + c] = c == 0 ? 3f : 0f;
                    }
                }
            } else if (name.endsWith("intermediate.dense.bias")) {
                for (int j = 0; j < dead; j++) {
                    v[4 * j] = 0;
                }
            }
        });
        Tokenizer tok = Tokenizer.load(in.resolve("tokenizer.json"));
        List<Encoding> batch = List.of(tok.encode("the cat sat on the mat", true), tok.encode("pruning whole neurons", true),
                tok.encode("a third text for the encoder", true));
        float[][] ref = embed(in, batch);
        double[] cos = new double[2];
        String[] imp = {"gauss", "l2"};
        for (int k = 0; k < 2; k++) {
            Path out = tmp.resolve("p-" + imp[k]);
            CliRun r = run("prune", in.toString(), out.toString(), "--ratio", "0.2", "--units", "mlp", "--importance", imp[k]);
            assertEquals(0, r.code(), r.err());
            Files.copy(in.resolve("tokenizer.json"), out.resolve("tokenizer.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            cos[k] = meanCosine(ref, embed(out, batch));
        }
        // gauss removes only dead neurons (GELU(0) = 0 in every token): the function is unchanged up to float rounding
        assertEquals(1.0, cos[0], 1e-5, "gauss");
        assertTrue(cos[1] < cos[0], "l2 " + cos[1] + " gauss " + cos[0]);
    }

    private static double logitError(Path ref, Path pruned) {
        float[] a = logits(ref);
        float[] b = logits(pruned);
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - b[i]) * (double) (a[i] - b[i]);
            den += (double) a[i] * a[i];
        }
        return Math.sqrt(num / den);
    }

    private static float[] logits(Path dir) {
        try (Checkpoint c = Checkpoint.open(dir); WorkPool pool = new WorkPool(2)) {
            return new LlamaDecoder(LlamaWeights.load(c), pool, LinearKernel.SCALAR).logits(TOKENS);
        }
    }

    @Test
    void gaussDoesNotHurtTheGeneratedLlama() {
        // the small generated llama (4 layers, 4 KV groups); the tiny one's 2 KV groups per layer make attention pruning
        // a coin toss. Measured: mlp 0.051 (gauss) vs 0.060 (l2), all 0.499 vs 0.566 relative logit error.
        Path in = SynthCheckpoint.write(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.SMALL), tmp.resolve("small")).dir();
        for (String units : new String[] {"mlp", "all"}) {
            double[] err = new double[2];
            String[] imp = {"gauss", "l2"};
            for (int k = 0; k < 2; k++) {
                Path out = tmp.resolve(units + "-" + imp[k]);
                CliRun r = run("prune", in.toString(), out.toString(), "--ratio", "0.2", "--units", units, "--layout", "mask", "--importance", imp[k]);
                assertEquals(0, r.code(), r.err());
                err[k] = logitError(in, out);
            }
            assertTrue(err[0] > 0 && err[0] < err[1], units + ": gauss " + err[0] + " l2 " + err[1]);
        }
    }
}
