package dev.slimq.prune.structure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.testdata.CheckpointEdit;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Depth pruning (--drop-layers) and the lists / deci layouts, checked against the written files directly. */
class DepthAndLayoutTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** The small llama preset: 4 layers, hidden 256, 8 heads / 4 KV heads of 32, intermediate 768. */
    private Path small(String name) {
        return SynthCheckpoint.write(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.SMALL), tmp.resolve(name)).dir();
    }

    private static JsonNode config(Path dir) throws IOException {
        return JSON.readTree(dir.resolve("config.json").toFile());
    }

    private static byte[] bytes(Checkpoint c, String name) {
        try (TensorView v = c.map(name)) {
            return v.segment().toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static Failure failure(Runnable r) {
        return assertThrows(SlimqException.class, r::run).failure();
    }

    /** Adds per-layer entries to the input's config, as Qwen2/Gemma-style configs carry them. */
    private static void addPerLayerKeys(Path dir, int layers) throws IOException {
        ObjectNode c = (ObjectNode) config(dir);
        var types = c.putArray("layer_types");
        for (int l = 0; l < layers; l++) {
            types.add("t" + l);
        }
        c.put("max_window_layers", 3);
        c.putArray("eos_token_id").add(2).add(3).add(4).add(5); // as many ids as layers, but not per layer
        Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c));
    }

    @Test
    void droppedLayersGoAndTheRestAreRenumberedByteForByte() throws IOException {
        Path in = small("in");
        addPerLayerKeys(in, 4);
        Path out = tmp.resolve("out");
        PruneReport r = PruneService.run(in, out, PruneOptions.of(0).withDrop(LayerDrop.parse("1,2"))).report();
        assertEquals(List.of(1, 2), r.droppedLayers());
        JsonNode cin = config(in);
        JsonNode cout = config(out);
        assertEquals(2, cout.get("num_hidden_layers").asInt());
        assertEquals("[\"t0\",\"t3\"]", cout.get("layer_types").toString());
        assertEquals(1, cout.get("max_window_layers").asInt(), "of the layers below 3, only layer 0 remains");
        // every other key is the input's
        for (Iterator<String> it = cin.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!List.of("num_hidden_layers", "layer_types", "max_window_layers").contains(k)) { // eos_token_id included
                assertEquals(cin.get(k), cout.get(k), k);
            }
        }
        Pattern layer = Pattern.compile("^model\\.layers\\.(\\d+)\\.(.*)$");
        long depth = 0;
        try (Checkpoint src = Checkpoint.open(in); Checkpoint dst = Checkpoint.open(out)) {
            int expected = 0;
            for (TensorInfo t : src.tensors()) {
                Matcher m = layer.matcher(t.name());
                String want = t.name();
                if (m.matches()) {
                    int l = Integer.parseInt(m.group(1));
                    if (l == 1 || l == 2) {
                        depth += t.elementCount();
                        continue;
                    }
                    want = "model.layers." + (l == 3 ? 1 : 0) + "." + m.group(2);
                }
                expected++;
                assertArrayEquals(bytes(src, t.name()), bytes(dst, want), want);
            }
            assertEquals(expected, dst.tensors().size());
        }
        assertEquals(depth, r.depthRemovedParameters());
        assertEquals(r.parametersBefore() - depth, r.parametersAfter());
        assertTrue(r.layers().get(1).dropped() && r.layers().get(2).dropped());
        assertEquals(1, r.layers().get(3).outputLayer());
        JsonNode file = JSON.readTree(out.resolve(PruneService.REPORT_FILE).toFile());
        assertEquals("[1,2]", file.get("dropped_layers").toString());
        assertEquals(depth, file.get("depth_removed_parameters").asLong());
        assertEquals(4, file.get("layers").size());
    }

    /** Copies a checkpoint, editing the floats of some tensors. */
    private Path edited(Path src, String name, BiConsumer<String, float[]> edit) {
        return CheckpointEdit.copy(src, tmp.resolve(name), edit);
    }

    @Test
    void autoDropsTheLayerWithTheSmallestWeightsWithoutStatistics() throws IOException {
        // every projection of layer 2 scaled by 0.01: the weight proxy ranks it last
        Path in = edited(small("in"), "scaled", (name, v) -> {
            if (name.startsWith("model.layers.2.") && (name.contains("_proj."))) {
                for (int i = 0; i < v.length; i++) {
                    v[i] *= 0.01f;
                }
            }
        });
        PruneReport r = PruneService.run(in, tmp.resolve("out"), PruneOptions.of(0).withDrop(new LayerDrop.Lowest(1))).report();
        assertEquals(List.of(2), r.droppedLayers());
        assertEquals(3, config(tmp.resolve("out")).get("num_hidden_layers").asInt());
    }

    @Test
    void autoDropsTheLayerThatChangesItsInputLeastWithStatistics() throws IOException {
        Path in = small("in");
        Path stats = tmp.resolve("stats.safetensors");
        float[] cos = {0.2f, 0.97f, 0.3f, 0.9f};
        List<TensorInfo> planned = new ArrayList<>();
        for (int l = 0; l < 4; l++) {
            planned.add(TensorInfo.planned("layers." + l + ".cos_in_out", DType.F32));
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(stats, WritePlan.of(planned, Map.of()))) {
            for (int l = 0; l < 4; l++) {
                w.writeFloats("layers." + l + ".cos_in_out", new float[] {cos[l]});
            }
            w.commit();
        }
        PruneReport r = PruneService.run(in, tmp.resolve("out"), PruneOptions.of(0).withStats(stats).withDrop(new LayerDrop.Lowest(2))).report();
        assertEquals(List.of(1, 3), r.droppedLayers(), "1 - cos is lowest for layers 1 (0.03) and 3 (0.1)");
    }

    @Test
    void depthCombinesWithWidthPruning() throws IOException {
        Path in = small("in");
        Path out = tmp.resolve("out");
        PruneReport r = PruneService.run(in, out, PruneOptions.of(0.25).withUnits(UnitSelection.MLP).withMultipleOf(64)
                .withDrop(LayerDrop.parse("0"))).report();
        JsonNode c = config(out);
        assertEquals(3, c.get("num_hidden_layers").asInt());
        int width = c.get("intermediate_size").asInt();
        assertEquals(576, width, "768 * 0.75 on the 64 grid");
        assertEquals(0.25, r.achievedRatio(), 1e-12);
        try (Checkpoint dst = Checkpoint.open(out)) {
            for (int l = 0; l < 3; l++) {
                assertArrayEquals(new long[] {width, 256}, dst.tensor("model.layers." + l + ".mlp.gate_proj.weight").shape());
                assertArrayEquals(new long[] {256, width}, dst.tensor("model.layers." + l + ".mlp.down_proj.weight").shape());
            }
            assertFalse(dst.tensors().stream().anyMatch(t -> t.name().startsWith("model.layers.3.")));
        }
        // the removed units of output layer 0 are those of input layer 1
        assertEquals(null, r.layers().get(0).outputLayer());
        assertEquals(576, r.layers().get(1).mlpNeuronsKept());
    }

    @Test
    void maskDropZeroesTheResidualBranchesAndKeepsShapes() {
        Path in = small("in");
        Path out = tmp.resolve("mask");
        PruneService.run(in, out, PruneOptions.of(0).withLayout(PruneLayout.MASK).withDrop(LayerDrop.parse("2")));
        try (Checkpoint src = Checkpoint.open(in); Checkpoint dst = Checkpoint.open(out)) {
            assertEquals(src.tensors().size(), dst.tensors().size());
            for (TensorInfo t : src.tensors()) {
                byte[] a = bytes(src, t.name());
                byte[] b = bytes(dst, t.name());
                boolean zero = t.name().equals("model.layers.2.self_attn.o_proj.weight") || t.name().equals("model.layers.2.mlp.down_proj.weight");
                assertArrayEquals(zero ? new byte[a.length] : a, b, t.name());
            }
        }
    }

    /** Checks every projection of a written llama checkpoint against per-layer widths read from its config by this test. */
    private static void assertShapesMatch(Path dir, int[] inter, int[] heads, int[] kv, int headDim, int hidden) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            for (int l = 0; l < inter.length; l++) {
                String p = "model.layers." + l + ".";
                assertArrayEquals(new long[] {(long) heads[l] * headDim, hidden}, c.tensor(p + "self_attn.q_proj.weight").shape());
                assertArrayEquals(new long[] {(long) kv[l] * headDim, hidden}, c.tensor(p + "self_attn.k_proj.weight").shape());
                assertArrayEquals(new long[] {(long) kv[l] * headDim, hidden}, c.tensor(p + "self_attn.v_proj.weight").shape());
                assertArrayEquals(new long[] {hidden, (long) heads[l] * headDim}, c.tensor(p + "self_attn.o_proj.weight").shape());
                assertArrayEquals(new long[] {inter[l], hidden}, c.tensor(p + "mlp.gate_proj.weight").shape());
                assertArrayEquals(new long[] {inter[l], hidden}, c.tensor(p + "mlp.up_proj.weight").shape());
                assertArrayEquals(new long[] {hidden, inter[l]}, c.tensor(p + "mlp.down_proj.weight").shape());
            }
        }
    }

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    @Test
    void listsLayoutWritesPerLayerWidthsThatMatchTheTensors() throws IOException {
        Path in = small("in");
        Path out = tmp.resolve("lists");
        // amplitude 0.5 spreads the per-layer sparsities, so the widths differ between layers
        PruneReport r = PruneService.run(in, out, PruneOptions.of(0.3).withLayout(PruneLayout.LISTS).withAmplitude(0.5)
                .withMultipleOf(8).withDrop(LayerDrop.parse("3"))).report();
        JsonNode c = config(out);
        assertEquals(3, c.get("num_hidden_layers").asInt());
        int[] inter = ints(c.get("intermediate_size"));
        int[] heads = ints(c.get("num_attention_heads"));
        int[] kv = ints(c.get("num_key_value_heads"));
        assertEquals(3, inter.length);
        assertEquals(32, c.get("head_dim").asInt());
        assertTrue(java.util.Arrays.stream(inter).distinct().count() > 1, "widths differ: " + java.util.Arrays.toString(inter));
        for (int l = 0; l < 3; l++) {
            assertEquals(r.layers().get(l).mlpNeuronsKept(), inter[l]);
            assertEquals(2 * kv[l], heads[l], "GQA groups stay whole: 2 query heads per KV head");
        }
        assertShapesMatch(out, inter, heads, kv, 32, 256);
    }

    @Test
    void deciLayoutWritesBlockConfigsWhoseFfnMultGivesTheTensorWidths() throws IOException {
        Path in = small("in");
        Path out = tmp.resolve("deci");
        PruneService.run(in, out, PruneOptions.of(0.3).withUnits(UnitSelection.MLP).withLayout(PruneLayout.DECI).withAmplitude(0.5));
        JsonNode c = config(out);
        assertEquals("nemotron-nas", c.get("model_type").asText());
        assertEquals("[\"DeciLMForCausalLM\"]", c.get("architectures").toString());
        JsonNode blocks = c.get("block_configs");
        assertEquals(4, blocks.size());
        int[] inter = new int[4];
        int[] heads = new int[4];
        int[] kv = new int[4];
        for (int l = 0; l < 4; l++) {
            JsonNode b = blocks.get(l);
            assertFalse(b.get("attention").get("no_op").asBoolean());
            assertFalse(b.get("ffn").get("no_op").asBoolean());
            // vLLM nemotron_nas.py: find_multiple(int(2 * ffn_mult * hidden / 3), 256); kv heads = heads // n_heads_in_group
            long n = (long) (2 * b.get("ffn").get("ffn_mult").asDouble() * 256 / 3);
            inter[l] = (int) (n % 256 == 0 ? n : n + 256 - n % 256);
            heads[l] = 8;
            kv[l] = 8 / b.get("attention").get("n_heads_in_group").asInt();
            assertEquals(0, inter[l] % 256);
            assertTrue(inter[l] >= 256 && inter[l] <= 768);
        }
        assertShapesMatch(out, inter, heads, kv, 32, 256);
        Path tiny = SynthCheckpoint.write(SynthSpec.tinyLlama(), tmp.resolve("tiny")).dir();
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(tiny, tmp.resolve("x"),
                PruneOptions.of(0.3).withUnits(UnitSelection.MLP).withLayout(PruneLayout.DECI))), "192 is off DeciLM's 256 grid");
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(in, tmp.resolve("x"),
                PruneOptions.of(0.3).withLayout(PruneLayout.DECI))), "attention pruning cannot be written as block_configs");
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void bertHeadPruningWorksInTheListsLayout() throws IOException {
        Path in = SynthCheckpoint.write(SynthSpec.tinyBert(), tmp.resolve("bert")).dir();
        Path out = tmp.resolve("bl");
        PruneService.run(in, out, PruneOptions.of(0.25).withLayout(PruneLayout.LISTS).withUnits(UnitSelection.ATTENTION));
        JsonNode c = config(out);
        int[] heads = ints(c.get("num_attention_heads"));
        assertEquals(16, c.get("head_dim").asInt());
        try (Checkpoint d = Checkpoint.open(out)) {
            for (int l = 0; l < heads.length; l++) {
                String p = "encoder.layer." + l + ".attention.";
                assertArrayEquals(new long[] {heads[l] * 16L, 64}, d.tensor(p + "self.query.weight").shape());
                assertArrayEquals(new long[] {heads[l] * 16L}, d.tensor(p + "self.value.bias").shape());
                assertArrayEquals(new long[] {64, heads[l] * 16L}, d.tensor(p + "output.dense.weight").shape());
                assertTrue(heads[l] < 4);
            }
        }
    }

    @Test
    void selfCheckRefusesAConfigThatDisagreesWithTheTensors() {
        ObjectNode c = JSON.createObjectNode();
        c.put("hidden_size", 64).put("num_hidden_layers", 1).put("num_attention_heads", 4).put("num_key_value_heads", 2).put("head_dim", 16);
        c.putArray("intermediate_size").add(128);
        List<TensorInfo> t = List.of(TensorInfo.planned("model.layers.0.mlp.down_proj.weight", DType.F32, 64, 120));
        Map<String, ConfigLayouts.Slot> slots = Map.of("model.layers.0.mlp.down_proj.weight",
                new ConfigLayouts.Slot(dev.slimq.core.layout.TensorRole.Kind.LINEAR, dev.slimq.core.layout.LinearRole.DOWN, 0));
        SlimqException e = assertThrows(SlimqException.class, () -> ConfigLayouts.check(c, t, slots));
        assertTrue(e.getMessage().contains("[64, 120]"), e.getMessage());
        c.put("num_hidden_layers", 2);
        c.putArray("intermediate_size").add(120).add(120);
        assertTrue(assertThrows(SlimqException.class, () -> ConfigLayouts.check(c, t, slots)).getMessage().contains("layer 1"));
    }

    @Test
    void deciFfnMultRoundTrips() {
        for (int w = 256; w <= 8192; w += 256) {
            for (int hidden : new int[] {256, 2048, 4096, 8192}) {
                assertEquals(w, ConfigLayouts.deciIntermediate(ConfigLayouts.ffnMult(w, hidden), hidden), w + " / " + hidden);
            }
        }
        // Llama-3.1-Nemotron-51B's own values: hidden 8192, ffn_mult 5.25 -> 28672
        assertEquals(28672, ConfigLayouts.deciIntermediate(5.25, 8192));
    }

    @Test
    void depthRefusals() {
        Path in = small("in");
        Path out = tmp.resolve("x");
        assertEquals(Failure.USAGE, failure(() -> PruneService.run(in, out, PruneOptions.of(0).withDrop(LayerDrop.parse("4")))));
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(in, out, PruneOptions.of(0).withDrop(LayerDrop.parse("0,1,2,3")))));
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(in, out, PruneOptions.of(0).withDrop(new LayerDrop.Lowest(4)))));
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(in, out, PruneOptions.of(0))), "nothing to do");
        assertEquals(Failure.USAGE, failure(() -> LayerDrop.parse("1,x")));
        assertEquals(Failure.USAGE, failure(() -> LayerDrop.parse("1,1")));
        assertEquals(Failure.USAGE, failure(() -> LayerDrop.parse("auto:0")));
        Path bert = SynthCheckpoint.write(SynthSpec.tinyBert(), tmp.resolve("bert")).dir();
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(bert, out, PruneOptions.of(0).withLayout(PruneLayout.MASK)
                .withDrop(LayerDrop.parse("1")))), "BERT's post-norm layer is no identity when zeroed");
        assertFalse(Files.exists(out));
    }

    /** The probes as BlockError documents them: SplittableRandom(seed + 2·layer (+1 for attention)), Box–Muller per value. */
    private static double[][] probes(long seed, int width) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        double[][] x = new double[BlockError.PROBES][width];
        for (double[] row : x) {
            for (int i = 0; i < width; i++) {
                double u = 1 - rnd.nextDouble();
                double v = rnd.nextDouble();
                row[i] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
            }
        }
        return x;
    }

    private static float[] floats(Checkpoint c, String name) {
        float[] v = new float[Math.toIntExact(c.tensor(name).elementCount())];
        try (TensorView t = c.map(name)) {
            t.readFloats(0, v, 0, v.length);
        }
        return v;
    }

    @Test
    void reportedMlpErrorIsTheSwiGluBranchErrorOnTheProbes() {
        Path in = SynthCheckpoint.write(SynthSpec.tinyLlama().withDtype(DType.F32), tmp.resolve("f32")).dir();
        PruneService.Result r = PruneService.run(in, tmp.resolve("o"), PruneOptions.of(0.3).withUnits(UnitSelection.MLP));
        try (Checkpoint c = Checkpoint.open(in)) {
            for (int l = 0; l < 2; l++) {
                String p = "model.layers." + l + ".mlp.";
                float[] gate = floats(c, p + "gate_proj.weight");
                float[] up = floats(c, p + "up_proj.weight");
                float[] down = floats(c, p + "down_proj.weight");
                boolean[] kept = r.kept().get(l);
                double[][] x = probes(BlockError.SEED + 2L * l, 64);
                double num = 0;
                double den = 0;
                for (double[] xp : x) {
                    double[] h = new double[192];
                    for (int j = 0; j < 192; j++) {
                        double g = 0;
                        double u = 0;
                        for (int i = 0; i < 64; i++) {
                            g += gate[j * 64 + i] * xp[i];
                            u += up[j * 64 + i] * xp[i];
                        }
                        h[j] = g / (1 + Math.exp(-g)) * u;
                    }
                    for (int row = 0; row < 64; row++) {
                        double all = 0;
                        double pruned = 0;
                        for (int j = 0; j < 192; j++) {
                            all += down[row * 192 + j] * h[j];
                            pruned += kept[j] ? down[row * 192 + j] * h[j] : 0;
                        }
                        num += (all - pruned) * (all - pruned);
                        den += all * all;
                    }
                }
                double want = Math.sqrt(num / den);
                assertTrue(want > 0.01, "something was removed: " + want);
                assertEquals(want, r.report().layers().get(l).mlpError(), 1e-4 * want, "layer " + l);
                assertEquals(null, r.report().layers().get(l).attentionError());
            }
        }
    }

    @Test
    void stepsReachTheSameUnitsWhenNothingButTheScheduleDiffers() {
        // amplitude 0 and uniform: every step takes the lowest-scored remaining neurons, and unit scores
        // do not change as others go, so three steps of 1/6 end where one step of 1/2 does
        Path in = SynthCheckpoint.write(SynthSpec.tinyLlama(), tmp.resolve("t")).dir();
        PruneOptions o = PruneOptions.of(0.5).withUnits(UnitSelection.MLP).withAmplitude(0).withMultipleOf(8);
        PruneService.Result one = PruneService.run(in, tmp.resolve("one"), o);
        PruneService.Result three = PruneService.run(in, tmp.resolve("three"), o.withSteps(3));
        assertEquals(0.5, one.report().achievedRatio(), 1e-12);
        assertEquals(0.5, three.report().achievedRatio(), 1e-12);
        assertEquals(3, three.report().steps());
        for (int i = 0; i < one.kept().size(); i++) {
            assertArrayEquals(one.kept().get(i), three.kept().get(i));
        }
    }

    @Test
    void stepsWithAdaptiveWidthsStayOnTheGridAndNearTheRatio() {
        Path in = small("s");
        PruneService.Result r = PruneService.run(in, tmp.resolve("o"), PruneOptions.of(0.4).withLayout(PruneLayout.LISTS)
                .withAmplitude(0.5).withMultipleOf(32).withSteps(4));
        PruneReport rep = r.report();
        long grid = 0;
        for (UnitGroup g : r.groups()) {
            grid = Math.max(grid, g.parametersPerUnit() * (g.kind() == UnitKind.MLP_NEURON ? 32 : 1));
        }
        assertTrue(Math.abs(rep.removedParameters() - 0.4 * rep.selectedParameters()) <= 4 * grid, rep.achievedRatio() + "");
        for (PruneReport.Layer l : rep.layers()) {
            assertEquals(0, l.mlpNeuronsKept() % 32);
            assertTrue(l.attentionUnitsKept() >= 1);
        }
        assertEquals(Failure.USAGE, failure(() -> PruneService.run(in, tmp.resolve("x"), PruneOptions.of(0.4).withSteps(0))));
    }
}
