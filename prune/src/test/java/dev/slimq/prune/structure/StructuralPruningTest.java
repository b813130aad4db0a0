package dev.slimq.prune.structure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.layout.ModelConfig;
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
import java.util.List;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StructuralPruningTest {
    @TempDir
    Path tmp;

    private Path llama() {
        return SynthCheckpoint.write(SynthSpec.tinyLlama(), tmp.resolve("llama")).dir();
    }

    private Path bert() {
        return SynthCheckpoint.write(SynthSpec.tinyBert(), tmp.resolve("bert")).dir();
    }

    private static UnitGroup.Member m(String t, UnitGroup.Axis a, long span, long other) {
        return new UnitGroup.Member(t, a, span, other);
    }

    @Test
    void llamaUnitsFollowGqaGroups() {
        try (Checkpoint c = Checkpoint.open(llama())) {
            List<UnitGroup> g = UnitMap.of(c.layout(), UnitSelection.ALL);
            assertEquals(4, g.size());
            String p = "model.layers.1.";
            UnitGroup mlp = g.get(2);
            assertEquals(new UnitGroup(1, UnitKind.MLP_NEURON, 192, 0, List.of(
                    m(p + "mlp.gate_proj.weight", UnitGroup.Axis.ROW, 1, 64),
                    m(p + "mlp.up_proj.weight", UnitGroup.Axis.ROW, 1, 64),
                    m(p + "mlp.down_proj.weight", UnitGroup.Axis.COLUMN, 1, 64))), mlp);
            assertEquals(3 * 64, mlp.parametersPerUnit());
            // 4 query heads, 2 KV heads, head_dim 16: group g = q rows [32g, 32g+32), k/v rows [16g, 16g+16), o columns [32g, 32g+32)
            UnitGroup att = g.get(3);
            assertEquals(new UnitGroup(1, UnitKind.ATTENTION_GROUP, 2, 2, List.of(
                    m(p + "self_attn.q_proj.weight", UnitGroup.Axis.ROW, 32, 64),
                    m(p + "self_attn.k_proj.weight", UnitGroup.Axis.ROW, 16, 64),
                    m(p + "self_attn.v_proj.weight", UnitGroup.Axis.ROW, 16, 64),
                    m(p + "self_attn.o_proj.weight", UnitGroup.Axis.COLUMN, 32, 64))), att);
            assertEquals(32 * 64 + 2 * 16 * 64 + 64 * 32, att.parametersPerUnit());
            assertEquals(2 * (192 + 2), UnitMap.units(g).size());
            assertEquals(2, UnitMap.of(c.layout(), UnitSelection.MLP).size());
        }
    }

    @Test
    void bertUnitsIncludeBiases() {
        try (Checkpoint c = Checkpoint.open(bert())) {
            List<UnitGroup> g = UnitMap.of(c.layout(), UnitSelection.ALL);
            String p = "encoder.layer.0.";
            assertEquals(new UnitGroup(0, UnitKind.MLP_NEURON, 256, 0, List.of(
                    m(p + "intermediate.dense.weight", UnitGroup.Axis.ROW, 1, 64),
                    m(p + "intermediate.dense.bias", UnitGroup.Axis.ROW, 1, 1),
                    m(p + "output.dense.weight", UnitGroup.Axis.COLUMN, 1, 64))), g.get(0));
            assertEquals(new UnitGroup(0, UnitKind.ATTENTION_GROUP, 4, 1, List.of(
                    m(p + "attention.self.query.weight", UnitGroup.Axis.ROW, 16, 64),
                    m(p + "attention.self.query.bias", UnitGroup.Axis.ROW, 16, 1),
                    m(p + "attention.self.key.weight", UnitGroup.Axis.ROW, 16, 64),
                    m(p + "attention.self.key.bias", UnitGroup.Axis.ROW, 16, 1),
                    m(p + "attention.self.value.weight", UnitGroup.Axis.ROW, 16, 64),
                    m(p + "attention.self.value.bias", UnitGroup.Axis.ROW, 16, 1),
                    m(p + "attention.output.dense.weight", UnitGroup.Axis.COLUMN, 16, 64))), g.get(1));
        }
    }

    @Test
    void allocationHitsRatioWithinOneStepAndIsMonotone() {
        List<LayerAllocation.Group> groups = new ArrayList<>();
        for (int l = 0; l < 4; l++) {
            groups.add(new LayerAllocation.Group(l, 768, 768, 8));
            groups.add(new LayerAllocation.Group(l, 4, 4 * 65536L, 1));
        }
        double[] imp = LayerAllocation.normalize(new double[] {1, 2, 3, 10});
        assertEquals(1.0, imp[3], 1e-12);
        long step = 4 * (8 * 768L + 4 * 65536L);
        for (boolean uniform : new boolean[] {false, true}) {
            int[] prev = null;
            double prevAchieved = 0;
            for (int r = 1; r <= 60; r++) {
                double ratio = r / 100.0;
                LayerAllocation.Result a = LayerAllocation.solve(groups, imp, 0.02, ratio, uniform);
                assertTrue(Math.abs(a.removedParameters() - ratio * a.totalParameters()) <= step, "ratio " + ratio);
                assertTrue(a.achievedRatio() >= prevAchieved);
                for (int i = 0; i < a.kept().length; i++) {
                    int k = a.kept()[i];
                    assertTrue(k >= 1 && (k % groups.get(i).step() == 0 || k == groups.get(i).count()));
                    if (prev != null) {
                        assertTrue(k <= prev[i], "width grew with the ratio");
                    }
                }
                if (!uniform) {
                    // the most important layer never loses more than the least important one
                    assertTrue(a.sparsity()[3] <= a.sparsity()[0]);
                } else {
                    assertEquals(a.kept()[0], a.kept()[6]);
                }
                prev = a.kept();
                prevAchieved = a.achievedRatio();
            }
        }
        assertThrows(IllegalArgumentException.class, () -> LayerAllocation.solve(groups, imp, 0.02, 0.999, false));
    }

    @Test
    void keepMaskTakesHighestScoresTiesToLowerIndex() {
        assertArrayEquals(new boolean[] {true, false, true, false}, LayerAllocation.keepMask(new double[] {1, 0.5, 2, 0.5}, 2));
        assertArrayEquals(new boolean[] {false, true, true, false}, LayerAllocation.keepMask(new double[] {0.5, 1, 2, 0.5}, 2));
        assertArrayEquals(new boolean[] {true, true, false}, LayerAllocation.keepMask(new double[] {1, 1, 1}, 2));
    }

    /** Copies a checkpoint, editing the floats of some tensors. */
    private Path edited(Path src, String name, BiConsumer<String, float[]> edit) {
        return CheckpointEdit.copy(src, tmp.resolve(name), edit);
    }

    @Test
    void importanceRanksHandBuiltUnits() {
        // neuron 5 of layer 0 zeroed, neuron 9 scaled down: they go first; KV group 1 of layer 0 scaled down
        Path in = edited(llama(), "hand", (name, v) -> {
            if (name.equals("model.layers.0.mlp.gate_proj.weight") || name.equals("model.layers.0.mlp.up_proj.weight")) {
                for (int c = 0; c < 64; c++) {
                    v[5 * 64 + c] = 0;
                    v[9 * 64 + c] *= 0.01f;
                }
            }
            if (name.equals("model.layers.0.mlp.down_proj.weight")) {
                for (int r = 0; r < 64; r++) {
                    v[r * 192 + 5] = 0;
                    v[r * 192 + 9] *= 0.01f;
                }
            }
            if (name.equals("model.layers.0.self_attn.k_proj.weight")) {
                for (int i = 16 * 64; i < 32 * 64; i++) {
                    v[i] *= 0.01f;
                }
            }
        });
        try (Checkpoint c = Checkpoint.open(in); var pool = new dev.slimq.core.parallel.WorkPool(1)) {
            List<UnitGroup> g = UnitMap.of(c.layout(), UnitSelection.ALL);
            for (Importance imp : new Importance[] {Importance.L1, Importance.L2}) {
                List<double[]> s = imp.scores(c, g, pool);
                assertEquals(0.0, s.get(0)[5]);
                boolean[] keep = LayerAllocation.keepMask(s.get(0), 190);
                assertFalse(keep[5]);
                assertFalse(keep[9]);
                assertTrue(s.get(1)[1] < s.get(1)[0]);
            }
        }
        Path out = tmp.resolve("hand-mask");
        PruneService.Result r = PruneService.run(in, out, PruneOptions.of(0.5).withUnits(UnitSelection.ATTENTION).withLayout(PruneLayout.MASK).withAmplitude(0));
        assertArrayEquals(new boolean[] {true, false}, r.kept().get(0));
    }

    @Test
    void uniformOutputLoadsAndKeepsBitIdenticalSlices() throws IOException {
        Path in = llama();
        Path out = tmp.resolve("uniform");
        PruneService.Result r = PruneService.run(in, out, PruneOptions.of(0.3));
        PruneReport rep = r.report();
        assertEquals(rep.selectedParameters() - rep.removedParameters(), rep.selectedParameters() * (1 - rep.achievedRatio()), 1e-6);
        try (Checkpoint src = Checkpoint.open(in); Checkpoint dst = Checkpoint.open(out)) {
            ModelConfig cfg = dst.layout().config().orElseThrow(); // layout checks compare every shape with the config
            assertEquals(rep.layers().get(0).mlpNeuronsKept(), cfg.intermediateSize());
            assertEquals(rep.layers().get(0).queryHeadsKept(), cfg.numAttentionHeads());
            assertEquals(rep.layers().get(0).attentionUnitsKept(), cfg.numKeyValueHeads());
            assertEquals(16, cfg.headDim());
            long after = dst.tensors().stream().mapToLong(TensorInfo::elementCount).sum();
            assertEquals(rep.parametersAfter(), after);
            for (int gi = 0; gi < r.groups().size(); gi++) {
                UnitGroup g = r.groups().get(gi);
                boolean[] kept = r.kept().get(gi);
                for (UnitGroup.Member m : g.members()) {
                    assertSliced(src, dst, m, kept);
                }
            }
            assertEquals(bytes(src, "model.embed_tokens.weight").length, bytes(dst, "model.embed_tokens.weight").length);
            assertArrayEquals(bytes(src, "model.norm.weight"), bytes(dst, "model.norm.weight"));
        }
        assertTrue(Files.readString(out.resolve("config.json")).contains("\"intermediate_size\": " + rep.layers().get(0).mlpNeuronsKept()));
    }

    private static byte[] bytes(Checkpoint c, String name) {
        try (TensorView v = c.map(name)) {
            return v.segment().toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** The output member equals the input's kept rows/columns, byte for byte. */
    private static void assertSliced(Checkpoint src, Checkpoint dst, UnitGroup.Member m, boolean[] kept) {
        byte[] a = bytes(src, m.tensor());
        byte[] b = bytes(dst, m.tensor());
        int eb = src.tensor(m.tensor()).dtype().byteSize();
        List<Byte> expect = new ArrayList<>();
        if (m.axis() == UnitGroup.Axis.ROW) {
            int unit = (int) (m.span() * m.otherDim() * eb);
            for (int u = 0; u < kept.length; u++) {
                for (int i = 0; kept[u] && i < unit; i++) {
                    expect.add(a[u * unit + i]);
                }
            }
        } else {
            int span = (int) (m.span() * eb);
            for (int r = 0; r < m.otherDim(); r++) {
                for (int u = 0; u < kept.length; u++) {
                    for (int i = 0; kept[u] && i < span; i++) {
                        expect.add(a[r * span * kept.length + u * span + i]);
                    }
                }
            }
        }
        byte[] e = new byte[expect.size()];
        for (int i = 0; i < e.length; i++) {
            e[i] = expect.get(i);
        }
        assertArrayEquals(e, b, m.tensor());
    }

    @Test
    void maskKeepsShapesAndZerosExactlyThePrunedUnits() {
        Path in = bert();
        Path out = tmp.resolve("mask");
        PruneService.Result r = PruneService.run(in, out, PruneOptions.of(0.25).withLayout(PruneLayout.MASK));
        try (Checkpoint src = Checkpoint.open(in); Checkpoint dst = Checkpoint.open(out)) {
            for (TensorInfo t : src.tensors()) {
                assertArrayEquals(t.shape(), dst.tensor(t.name()).shape());
            }
            int prunedUnits = 0;
            for (int gi = 0; gi < r.groups().size(); gi++) {
                boolean[] kept = r.kept().get(gi);
                for (boolean k : kept) {
                    prunedUnits += k ? 0 : 1;
                }
                for (UnitGroup.Member m : r.groups().get(gi).members()) {
                    byte[] a = bytes(src, m.tensor());
                    byte[] b = bytes(dst, m.tensor());
                    int eb = 4;
                    long cols = m.axis() == UnitGroup.Axis.ROW ? m.otherDim() : m.span() * kept.length;
                    for (int i = 0; i < a.length; i += eb) {
                        long el = i / eb;
                        long unit = m.axis() == UnitGroup.Axis.ROW ? el / cols / m.span() : (el % cols) / m.span();
                        for (int j = 0; j < eb; j++) {
                            assertEquals(kept[(int) unit] ? a[i + j] : 0, b[i + j]);
                        }
                    }
                }
            }
            assertTrue(prunedUnits > 0);
            assertEquals(r.report().parametersBefore() - r.report().removedParameters(), r.report().parametersAfter());
        }
    }

    @Test
    void deterministicAcrossThreadCounts() throws IOException {
        Path in = SynthCheckpoint.write(SynthSpec.tinyLlama().withSeed(3), tmp.resolve("det")).dir();
        PruneService.run(in, tmp.resolve("t1"), PruneOptions.of(0.2).withMultipleOf(8).withThreads(1));
        PruneService.run(in, tmp.resolve("t2"), PruneOptions.of(0.2).withMultipleOf(8).withThreads(2));
        assertArrayEquals(Files.readAllBytes(tmp.resolve("t1/model.safetensors")), Files.readAllBytes(tmp.resolve("t2/model.safetensors")));
        assertEquals(Files.readString(tmp.resolve("t1/config.json")), Files.readString(tmp.resolve("t2/config.json")));
    }

    private static Failure failure(Runnable r) {
        return assertThrows(SlimqException.class, r::run).failure();
    }

    @Test
    void refusals() {
        Path in = llama();
        Path out = tmp.resolve("x");
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(in, out, PruneOptions.of(0.2).withLayout(PruneLayout.DECI))));
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(in, out, PruneOptions.of(1.2))));
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(in, out, PruneOptions.of(0))));
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(in, out, PruneOptions.of(0.999))));
        assertEquals(Failure.USAGE, failure(() -> PruneService.run(in, out, PruneOptions.of(0.2).withMultipleOf(-1))));
        assertEquals(Failure.USAGE, failure(() -> PruneService.run(in, tmp.resolve("y.safetensors"), PruneOptions.of(0.2))));
        assertEquals(Failure.USAGE, failure(() -> PruneService.run(in, in, PruneOptions.of(0.2))));
        Path b = bert();
        assertEquals(Failure.UNSUPPORTED, failure(() -> PruneService.run(b, out, PruneOptions.of(0.2))));
        assertFalse(Files.exists(out));
        PruneService.run(b, out, PruneOptions.of(0.2).withUnits(UnitSelection.MLP));
        assertEquals(Failure.USAGE, failure(() -> PruneService.run(b, out, PruneOptions.of(0.2).withUnits(UnitSelection.MLP))));
        assertEquals(Failure.USAGE, failure(() -> UnitSelection.fromName("heads")));
    }
}
