package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimq prune} depth pruning and layouts end to end, with the runtime's decoder forward pass as the judge. */
class PruneDepthCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int[] TOKENS = {1, 17, 240, 5, 99, 311, 64, 3, 511, 12};

    @TempDir
    static Path shared;

    static Path small;
    static Path tiny;

    @TempDir
    Path tmp;

    @BeforeAll
    static void checkpoints() {
        small = SynthCheckpoint.write(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.SMALL), shared.resolve("small")).dir();
        tiny = SynthCheckpoint.write(SynthSpec.tinyLlama(), shared.resolve("tiny")).dir();
    }

    private static LlamaWeights load(Path dir) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            return LlamaWeights.load(c);
        }
    }

    private static float[] logits(LlamaWeights w) {
        try (WorkPool pool = new WorkPool(2)) {
            return new LlamaDecoder(w, pool, LinearKernel.SCALAR).logits(TOKENS);
        }
    }

    @Test
    void droppedLayersGiveTheModelAssembledWithoutThem() throws IOException {
        Path out = tmp.resolve("depth");
        CliRun r = run("prune", small.toString(), out.toString(), "--drop-layers", "1,2", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals("[1,2]", r.json().get("dropped_layers").toString(), r.out());
        LlamaWeights o = load(small);
        // the reference: the original weights with layers 1 and 2 taken out by hand
        LlamaWeights hand = o.withLayers(new LlamaWeights.Layer[] {o.layers()[0], o.layers()[3]});
        float[] want = logits(hand);
        assertArrayEquals(want, logits(load(out)));
        assertFalse(java.util.Arrays.equals(want, logits(o)), "dropping layers changes the output");
        // the mask layout zeroes the dropped layers' residual branches: the very same function
        Path mask = tmp.resolve("depth-mask");
        assertEquals(0, run("prune", small.toString(), mask.toString(), "--drop-layers", "1,2", "--layout", "mask").code());
        assertArrayEquals(want, logits(load(mask)));
        // a pruned, renumbered checkpoint is a valid quantize input
        CliRun q = run("quantize", out.toString(), tmp.resolve("q").toString(), "-q");
        assertEquals(0, q.code(), q.err());
    }

    private static BertWeights bert(Path dir) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            return BertWeights.load(c);
        }
    }

    private static float[][] embed(BertWeights w, java.util.List<Encoding> batch) {
        try (WorkPool pool = new WorkPool(2)) {
            return new BertEncoder(w, pool, LinearKernel.SCALAR).embed(batch, Pooling.MEAN);
        }
    }

    @Test
    void bertWithoutALayerIsTheEncoderAssembledWithoutIt() {
        Path in = SynthCheckpoint.write(SynthSpec.of(SynthSpec.Arch.BERT, SynthSpec.Size.SMALL), tmp.resolve("bert")).dir();
        Path out = tmp.resolve("bert-d");
        CliRun r = run("prune", in.toString(), out.toString(), "--drop-layers", "0,2", "--ratio", "0.2", "--units", "mlp");
        assertEquals(0, r.code(), r.err());
        Tokenizer tok = Tokenizer.load(in.resolve("tokenizer.json"));
        java.util.List<Encoding> batch = java.util.List.of(tok.encode("the cat sat on the mat", true), tok.encode("pruning whole layers", true));
        // reference: the depth-only pruned encoder equals the original with layers 0 and 2 left out by hand
        Path depthOnly = tmp.resolve("bert-d0");
        assertEquals(0, run("prune", in.toString(), depthOnly.toString(), "--drop-layers", "0,2").code());
        BertWeights o = bert(in);
        BertWeights hand = new BertWeights(o.architecture(), o.hidden(), o.heads(), o.intermediate(), o.vocab(), o.maxPositions(),
                o.positionOffset(), o.eps(), o.wordEmbeddings(), o.positionEmbeddings(), o.typeEmbeddings(), o.embeddingNormWeight(),
                o.embeddingNormBias(), new BertWeights.Layer[] {o.layers()[1], o.layers()[3]});
        float[][] want = embed(hand, batch);
        float[][] got = embed(bert(depthOnly), batch);
        for (int i = 0; i < want.length; i++) {
            assertArrayEquals(want[i], got[i]);
        }
        // and with width pruning on top, the 2-layer model loads and runs with the smaller intermediate size
        BertWeights both = bert(out);
        assertEquals(2, both.layers().length);
        assertTrue(both.intermediate() < o.intermediate());
        assertEquals(want.length, embed(both, batch).length);
    }

    @Test
    void maskAndUniformWidthPruningComputeTheSameFunction() {
        Path u = tmp.resolve("u");
        Path m = tmp.resolve("m");
        assertEquals(0, run("prune", tiny.toString(), u.toString(), "--ratio", "0.3", "--drop-layers", "auto:1").code());
        assertEquals(0, run("prune", tiny.toString(), m.toString(), "--ratio", "0.3", "--drop-layers", "auto:1", "--layout", "mask").code());
        float[] a = logits(load(u));
        float[] b = logits(load(m));
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - b[i]) * (double) (a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        assertTrue(Math.sqrt(num / den) < 1e-5, "relative error " + Math.sqrt(num / den));
    }

    @Test
    void listsAndDeciOutputsCarryTheirConfigs() throws IOException {
        Path lists = tmp.resolve("lists");
        CliRun r = run("prune", small.toString(), lists.toString(), "--ratio", "0.3", "--layout", "lists", "--amplitude", "0.5", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode c = JSON.readTree(lists.resolve("config.json").toFile());
        assertEquals(4, c.get("intermediate_size").size());
        // inspect reads the per-layer config and checks every layer's tensors against its own entry
        CliRun i = run("inspect", lists.toString(), "--json");
        assertEquals(0, i.code(), i.err());
        JsonNode per = JSON.readTree(i.out()).get("model").get("per_layer");
        assertEquals(c.get("intermediate_size"), per.get("intermediate_size"));
        Path deci = tmp.resolve("deci");
        r = run("prune", small.toString(), deci.toString(), "--ratio", "0.3", "--units", "mlp", "--layout", "deci", "--drop-layers", "3");
        assertEquals(0, r.code(), r.err());
        c = JSON.readTree(deci.resolve("config.json").toFile());
        assertEquals(3, c.get("block_configs").size());
        assertEquals(3, c.get("num_hidden_layers").asInt());
    }

    @Test
    void exitCodes() {
        Path x = tmp.resolve("x");
        assertEquals(ExitCode.USAGE.code(), run("prune", tiny.toString(), x.toString()).code(), "neither --ratio nor --drop-layers");
        assertEquals(ExitCode.USAGE.code(), run("prune", tiny.toString(), x.toString(), "--drop-layers", "2").code(), "layer 2 of 2");
        assertEquals(ExitCode.USAGE.code(), run("prune", tiny.toString(), x.toString(), "--drop-layers", "one").code());
        CliRun all = run("prune", tiny.toString(), x.toString(), "--drop-layers", "auto:2");
        assertEquals(ExitCode.UNSUPPORTED.code(), all.code());
        assertEquals(1, all.err().strip().lines().count(), all.err());
        assertEquals(ExitCode.UNSUPPORTED.code(), run("prune", tiny.toString(), x.toString(), "--ratio", "0.3", "--units", "mlp", "--layout", "deci").code());
        assertEquals(ExitCode.UNSUPPORTED.code(), run("prune", small.toString(), x.toString(), "--ratio", "0.3", "--layout", "deci").code());
        assertEquals(ExitCode.USAGE.code(), run("prune", tiny.toString(), x.toString(), "--ratio", "0.3", "--multiple-of", "0").code());
        assertEquals(ExitCode.USAGE.code(), run("prune", tiny.toString(), x.toString(), "--ratio", "0.3", "--steps", "0").code());
        assertFalse(Files.exists(x));
    }

    @Test
    void multipleOfDefaultsToEightBelow4096() throws IOException {
        CliRun r = run("prune", small.toString(), tmp.resolve("m").toString(), "--ratio", "0.23", "--units", "mlp", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(8, r.json().get("multiple_of").asInt());
        int width = JSON.readTree(tmp.resolve("m/config.json").toFile()).get("intermediate_size").asInt();
        assertEquals(0, width % 8, "width " + width);
        assertTrue(width < 768);
    }
}
