package dev.slimq.prune.structure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pruning with a calibration statistics file built by hand (flap/wanda scores, cos layer importance, bias compensation). */
class StatsPruningTest {
    @TempDir
    Path tmp;

    private Path bert() {
        return SynthCheckpoint.write(SynthSpec.tinyBert().withDtype(DType.F32), tmp.resolve("bert")).dir();
    }

    private static float[] read(Checkpoint c, String name) {
        TensorInfo t = c.tensor(name);
        float[] v = new float[Math.toIntExact(t.elementCount())];
        try (TensorView view = c.map(name)) {
            view.readFloats(0, v, 0, v.length);
        }
        return v;
    }

    /** ‖W[:, c]‖² per column, plain loops. */
    private static double[] colSq(Checkpoint c, String name) {
        TensorInfo t = c.tensor(name);
        float[] w = read(c, name);
        int rows = (int) t.dim(0);
        int cols = (int) t.dim(1);
        double[] s = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                s[j] += (double) w[r * cols + j] * w[r * cols + j];
            }
        }
        return s;
    }

    /**
     * Writes a statistics file: per layer cos_in_out = cos[l], and for each consuming linear of
     * {@code groups} the statistics {@code stat(layer, weight, width)} returns (name suffix -> values).
     */
    private Path stats(String file, double[] cos, List<UnitGroup> groups, Predicate<String> keep,
                       Function<UnitGroup, Map<String, float[]>> stat, Map<String, String> meta) {
        Path out = tmp.resolve(file);
        Map<String, float[]> tensors = new LinkedHashMap<>();
        for (int l = 0; l < cos.length; l++) {
            tensors.put("layers." + l + ".cos_in_out", new float[] {(float) cos[l]});
        }
        for (UnitGroup g : groups) {
            String key = StatisticsFile.moduleKey(g.layer(), Importance.consumer(g).tensor());
            stat.apply(g).forEach((k, v) -> tensors.put(key + "." + k, v));
        }
        tensors.keySet().removeIf(keep.negate());
        List<TensorInfo> planned = new ArrayList<>();
        tensors.forEach((k, v) -> planned.add(k.endsWith("cos_in_out") ? TensorInfo.planned(k, DType.F32) : TensorInfo.planned(k, DType.F32, v.length)));
        try (SafetensorsWriter w = SafetensorsWriter.create(out, WritePlan.of(planned, meta))) {
            tensors.forEach(w::writeFloats);
            w.commit();
        }
        return out;
    }

    private static int width(UnitGroup g) {
        UnitGroup.Member m = Importance.consumer(g);
        return (int) (m.span() * g.count());
    }

    @Test
    void moduleKeysFollowHfPaths() {
        assertEquals("layers.1.output.dense", StatisticsFile.moduleKey(1, "encoder.layer.1.output.dense.weight"));
        assertEquals("layers.0.attention.output.dense", StatisticsFile.moduleKey(0, "encoder.layer.0.attention.output.dense.weight"));
        assertEquals("layers.12.mlp.down_proj", StatisticsFile.moduleKey(12, "model.layers.12.mlp.down_proj.weight"));
        assertEquals("layers.2.self_attn.o_proj", StatisticsFile.moduleKey(2, "model.layers.2.self_attn.o_proj.weight"));
    }

    @Test
    void flapAndWandaScoresAreHandComputable() {
        Path in = bert();
        try (Checkpoint c = Checkpoint.open(in); WorkPool pool = new WorkPool(2)) {
            List<UnitGroup> groups = UnitMap.of(c.layout(), UnitSelection.ALL);
            int layers = c.layout().numLayers();
            // input_var[c] = t_c / ‖W[:,c]‖², so the FLAP score of column c is t_c; input_absmean[c] = t_c / ‖W[:,c]‖
            Function<UnitGroup, Map<String, float[]>> st = g -> {
                double[] sq = colSq(c, Importance.consumer(g).tensor());
                float[] var = new float[sq.length];
                float[] abs = new float[sq.length];
                for (int j = 0; j < sq.length; j++) {
                    double t = (j * 37) % 257 + 1;
                    var[j] = (float) (t / sq[j]);
                    abs[j] = (float) (t / Math.sqrt(sq[j]));
                }
                return Map.of("input_var", var, "input_absmean", abs);
            };
            Path s = stats("s.safetensors", new double[layers], groups, n -> true, st, Map.of());
            try (StatisticsFile sf = StatisticsFile.open(s)) {
                for (Importance imp : new Importance[] {Importance.FLAP, Importance.WANDA}) {
                    List<double[]> sc = imp.scores(c, groups, sf, pool);
                    for (int i = 0; i < groups.size(); i++) {
                        UnitGroup g = groups.get(i);
                        long span = Importance.consumer(g).span();
                        for (int u = 0; u < g.count(); u++) {
                            double want = 0;
                            for (long j = u * span; j < (u + 1) * span; j++) {
                                want += (j * 37) % 257 + 1;
                            }
                            assertEquals(want, sc.get(i)[u], want * 1e-5, imp + " group " + i + " unit " + u);
                        }
                    }
                    // MLP neuron j's score is (37j mod 257) + 1: the neuron with t = 1 (j = 0) ranks last
                    boolean[] keep = LayerAllocation.keepMask(sc.get(0), groups.get(0).count() - 1);
                    assertFalse(keep[0]);
                }
            }
            assertThrows(SlimqException.class, () -> Importance.FLAP.scores(c, groups, pool));
        }
    }

    @Test
    void cosineLayerImportanceProtectsLayersThatChangeTheirInput() {
        Path in = bert();
        double[] cos;
        List<UnitGroup> groups;
        try (Checkpoint c = Checkpoint.open(in)) {
            groups = UnitMap.of(c.layout(), UnitSelection.MLP);
            cos = new double[c.layout().numLayers()];
        }
        assertTrue(cos.length >= 2);
        for (int l = 0; l < cos.length; l++) {
            cos[l] = l == 0 ? 0.2 : 0.9; // layer 0 changes its input most: most important
        }
        Path s = stats("cos.safetensors", cos, groups, n -> true, g -> Map.of(), Map.of());
        PruneOptions o = PruneOptions.of(0.4).withUnits(UnitSelection.MLP).withLayout(PruneLayout.MASK).withAmplitude(0.2).withStats(s);
        PruneReport r = PruneService.run(in, tmp.resolve("cos-out.safetensors"), o).report();
        assertEquals(1.0, r.layers().get(0).importance(), 1e-9);
        assertTrue(r.layers().get(1).importance() < 0);
        assertTrue(r.layers().get(0).mlpNeuronsKept() > r.layers().get(1).mlpNeuronsKept());
        assertTrue(r.layerImportance().startsWith("statistics: 1 - cos_in_out"), r.layerImportance());
        assertEquals("l2", r.importance());
        assertTrue(r.compensatedBiases().isEmpty());
    }

    @Test
    void biasCompensationReproducesTheOutputAtTheMeanInput() {
        Path in = bert();
        List<UnitGroup> groups;
        int layers;
        try (Checkpoint c = Checkpoint.open(in)) {
            groups = UnitMap.of(c.layout(), UnitSelection.ALL);
            layers = c.layout().numLayers();
        }
        Function<UnitGroup, Map<String, float[]>> st = g -> {
            float[] mean = new float[width(g)];
            float[] var = new float[width(g)];
            for (int j = 0; j < mean.length; j++) {
                mean[j] = ((j * 13) % 17 - 8) / 4f;
                var[j] = 1 + (j * 7) % 5;
            }
            return Map.of("input_mean", mean, "input_var", var);
        };
        Path s = stats("mean.safetensors", new double[layers], groups, n -> true, st, Map.of());
        Path out = tmp.resolve("comp-out");
        PruneService.Result res = PruneService.run(in, out, PruneOptions.of(0.5).withLayout(PruneLayout.MASK).withImportance(Importance.FLAP).withStats(s));
        assertEquals("flap", res.report().importance());
        assertEquals(2 * layers, res.report().compensatedBiases().size());
        try (Checkpoint a = Checkpoint.open(in); Checkpoint b = Checkpoint.open(out)) {
            for (int i = 0; i < groups.size(); i++) {
                UnitGroup g = groups.get(i);
                String w = Importance.consumer(g).tensor();
                String bias = w.substring(0, w.length() - "weight".length()) + "bias";
                float[] mean = st.apply(g).get("input_mean");
                float[] w0 = read(a, w);
                float[] b0 = read(a, bias);
                float[] w1 = read(b, w);
                float[] b1 = read(b, bias);
                int cols = mean.length;
                boolean anyPruned = false;
                for (boolean k : res.kept().get(i)) {
                    anyPruned |= !k;
                }
                assertTrue(anyPruned);
                for (int r = 0; r < b0.length; r++) {
                    double y0 = b0[r];
                    double y1 = b1[r];
                    for (int j = 0; j < cols; j++) {
                        y0 += (double) w0[r * cols + j] * mean[j];
                        y1 += (double) w1[r * cols + j] * mean[j];
                    }
                    assertEquals(y0, y1, 1e-5 * (1 + Math.abs(y0)), w + " row " + r);
                }
            }
        }
        // without compensation the biases pass through
        Path out2 = tmp.resolve("nocomp-out");
        PruneReport r2 = PruneService.run(in, out2, PruneOptions.of(0.5).withLayout(PruneLayout.MASK).withStats(s).withBiasCompensation(false)).report();
        assertTrue(r2.compensatedBiases().isEmpty());
    }

    /** Reads a float tensor, or null when absent. */
    private static float[] maybe(Checkpoint c, String name) {
        return c.tensors().stream().anyMatch(t -> t.name().equals(name)) ? read(c, name) : null;
    }

    @Test
    void llamaCompensationCreatesTheBiasesItsConfigSwitchesOn() throws IOException {
        Path in = SynthCheckpoint.write(SynthSpec.tinyLlama().withDtype(DType.F32), tmp.resolve("llama")).dir();
        List<UnitGroup> groups;
        int layers;
        try (Checkpoint c = Checkpoint.open(in)) {
            groups = UnitMap.of(c.layout(), UnitSelection.ALL);
            layers = c.layout().numLayers();
        }
        // DESIGN.md section 4 names: layers.{i}.mlp.down_proj.input_mean, layers.{i}.self_attn.o_proj.input_mean
        Function<UnitGroup, Map<String, float[]>> st = g -> {
            float[] mean = new float[width(g)];
            for (int j = 0; j < mean.length; j++) {
                mean[j] = ((j * 11) % 13 - 6) / 3f;
            }
            return Map.of("input_mean", mean, "input_var", filled(mean.length, 1));
        };
        Path s = stats("llama.safetensors", new double[layers], groups, n -> true, st, Map.of());
        try (StatisticsFile f = StatisticsFile.open(s)) {
            assertTrue(f.has("layers.0.mlp.down_proj.input_mean") && f.has("layers.1.self_attn.o_proj.input_mean"));
        }
        Path out = tmp.resolve("l-out");
        PruneService.Result res = PruneService.run(in, out, PruneOptions.of(0.3).withStats(s));
        PruneReport r = res.report();
        assertEquals(List.of("attention_bias", "mlp_bias"), r.configFlags());
        assertEquals(2 * layers, r.compensatedBiases().size());
        assertEquals(7 * layers, r.createdBiases().size(), "q, k, v, o, gate, up, down in every layer");
        var cfg = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertTrue(cfg.get("mlp_bias").asBoolean() && cfg.get("attention_bias").asBoolean());
        try (Checkpoint a = Checkpoint.open(in); Checkpoint b = Checkpoint.open(out)) {
            for (int i = 0; i < groups.size(); i++) {
                UnitGroup g = groups.get(i);
                String w = Importance.consumer(g).tensor();
                String bias = w.substring(0, w.length() - "weight".length()) + "bias";
                assertEquals(null, maybe(a, bias));
                float[] mean = st.apply(g).get("input_mean");
                float[] w0 = read(a, w);
                float[] w1 = read(b, w);
                float[] b1 = read(b, bias);
                boolean[] kept = res.kept().get(i);
                long span = Importance.consumer(g).span();
                int cols = mean.length;
                int keptCols = (int) (w1.length / b1.length);
                for (int row = 0; row < b1.length; row++) {
                    // the unpruned linear at the mean input, and the pruned one (kept columns) plus its new bias
                    double y0 = 0;
                    double y1 = b1[row];
                    for (int j = 0, k = 0; j < cols; j++) {
                        y0 += (double) w0[row * cols + j] * mean[j];
                        if (kept[(int) (j / span)]) {
                            y1 += (double) w1[row * keptCols + k++] * mean[j];
                        }
                    }
                    assertEquals(y0, y1, 1e-5 * (1 + Math.abs(y0)), w + " row " + row);
                }
                // the siblings the switch also gives a bias get zeros of their pruned width
                for (UnitGroup.Member m : g.members()) {
                    if (m.axis() == UnitGroup.Axis.ROW) {
                        String sb = m.tensor().substring(0, m.tensor().length() - "weight".length()) + "bias";
                        float[] zero = read(b, sb);
                        assertEquals(b.tensor(m.tensor()).dim(0), zero.length);
                        assertArrayEquals(new float[zero.length], zero, 0f, sb);
                    }
                }
            }
        }
    }

    @Test
    void compensationIsRefusedWhereTheConfigHasNoBiasSwitch() throws IOException {
        Path in = SynthCheckpoint.write(SynthSpec.tinyLlama(), tmp.resolve("mistral")).dir();
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(in.resolve("config.json").toFile());
        cfg.put("model_type", "mistral");
        cfg.putArray("architectures").add("MistralForCausalLM");
        Files.writeString(in.resolve("config.json"), mapper.writeValueAsString(cfg));
        List<UnitGroup> groups;
        int layers;
        try (Checkpoint c = Checkpoint.open(in)) {
            groups = UnitMap.of(c.layout(), UnitSelection.ALL);
            layers = c.layout().numLayers();
        }
        Path s = stats("mistral.safetensors", new double[layers], groups, n -> true,
                g -> Map.of("input_mean", filled(width(g), 0.5f), "input_var", filled(width(g), 1)), Map.of());
        PruneOptions o = PruneOptions.of(0.3).withStats(s);
        SlimqException e = assertThrows(SlimqException.class, () -> PruneService.run(in, tmp.resolve("m-out"), o));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        assertTrue(e.getMessage().contains("--no-bias-compensation") && e.getMessage().contains("mistral"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("m-out")));
        PruneService.run(in, tmp.resolve("m-out2"), o.withBiasCompensation(false));
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void missingWrongWidthAndForeignStatisticsExit3() {
        Path in = bert();
        List<UnitGroup> groups;
        int layers;
        String fp;
        try (Checkpoint c = Checkpoint.open(in)) {
            groups = UnitMap.of(c.layout(), UnitSelection.ALL);
            layers = c.layout().numLayers();
            fp = StatisticsFile.modelFingerprint(c);
        }
        Function<UnitGroup, Map<String, float[]>> ok = g -> Map.of("input_var", filled(width(g), 1));
        Path noCos = stats("nocos.safetensors", new double[layers], groups, n -> !n.equals("layers.1.cos_in_out"), ok, Map.of());
        Path noVar = stats("novar.safetensors", new double[layers], groups, n -> !n.equals("layers.0.output.dense.input_var"), ok, Map.of());
        Path narrow = stats("narrow.safetensors", new double[layers], groups, n -> true,
                g -> Map.of("input_var", filled(width(g) - 1, 1)), Map.of());
        Path foreign = stats("foreign.safetensors", new double[layers], groups, n -> true, ok, Map.of("model_fingerprint", "sha256:00"));
        Path mine = stats("mine.safetensors", new double[layers], groups, n -> true, ok, Map.of("model_fingerprint", fp));
        PruneOptions o = PruneOptions.of(0.3).withLayout(PruneLayout.MASK).withImportance(Importance.FLAP);
        int k = 0;
        for (Object[] bad : new Object[][] {{noCos, "layers.1.cos_in_out"}, {noVar, "layers.0.output.dense.input_var"},
                {narrow, ".input_var"}, {foreign, "model_fingerprint"}, {tmp.resolve("absent.safetensors"), "no such file"}}) {
            Path p = (Path) bad[0];
            Path target = tmp.resolve("bad" + k++ + ".safetensors");
            SlimqException e = assertThrows(SlimqException.class, () -> PruneService.run(in, target, o.withStats(p)));
            assertEquals(Failure.BAD_INPUT, e.failure(), e.getMessage());
            assertTrue(e.getMessage().contains((String) bad[1]), e.getMessage());
        }
        PruneService.run(in, tmp.resolve("ok1.safetensors"), o.withStats(foreign).withIgnoreFingerprint(true));
        PruneService.run(in, tmp.resolve("ok2.safetensors"), o.withStats(mine));
    }

    @Test
    void deterministicAcrossRunsAndThreads() throws IOException {
        Path in = bert();
        List<UnitGroup> groups;
        int layers;
        try (Checkpoint c = Checkpoint.open(in)) {
            groups = UnitMap.of(c.layout(), UnitSelection.ALL);
            layers = c.layout().numLayers();
        }
        double[] cos = new double[layers];
        for (int l = 0; l < layers; l++) {
            cos[l] = 0.5 + 0.1 * l;
        }
        Path s = stats("det.safetensors", cos, groups, n -> true, g -> {
            float[] m = new float[width(g)];
            float[] a = new float[width(g)];
            for (int j = 0; j < m.length; j++) {
                m[j] = (j % 5) * 0.25f;
                a[j] = 1 + (j % 3);
            }
            return Map.of("input_mean", m, "input_absmean", a);
        }, Map.of());
        byte[] first = null;
        for (int threads : new int[] {1, 3, 1}) {
            Path out = tmp.resolve("det" + threads + "-" + (first == null) + ".safetensors");
            PruneService.run(in, out, PruneOptions.of(0.3).withLayout(PruneLayout.MASK).withImportance(Importance.WANDA)
                    .withStats(s).withThreads(threads));
            byte[] bytes = Files.readAllBytes(out);
            if (first == null) {
                first = bytes;
            } else {
                assertArrayEquals(first, bytes);
            }
        }
    }
}
