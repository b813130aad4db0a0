package dev.slimq.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.json.Json;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.quantize.format.QuantFormat;
import dev.slimq.quantize.format.QuantizedCheckpointReader;
import dev.slimq.quantize.method.Granularity;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimq quantize} end to end on generated checkpoints: outputs, refusals, determinism, atomicity. */
class QuantizeServiceTest {
    @TempDir
    static Path shared;

    static Path llama;

    @TempDir
    Path tmp;

    @BeforeAll
    static void generate() {
        llama = shared.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
    }

    static QuantizeOptions opts(Method m, String format) {
        QuantizeOptions d = QuantizeOptions.defaults();
        return new QuantizeOptions(m, 4, 64, false, format, Optional.empty(), OutlierMode.AUTO, 3.0, Granularity.DEFAULT, Optional.empty(),
                TensorPolicy.defaults(), false, 0, 2, false, false);
    }

    static QuantizeOptions with(QuantizeOptions o, int threads) {
        return new QuantizeOptions(o.method(), o.bits(), o.groupSize(), o.symmetric(), o.format(), o.target(), o.outliers(),
                o.outlierSigma(), o.granularity(), o.scaleDtype(), o.policy(), o.strict(), o.maxShardBytes(), threads,
                o.force(), o.dryRun());
    }

    static float[] floats(Checkpoint c, String name) {
        TensorInfo t = c.tensor(name);
        float[] out = new float[(int) t.elementCount()];
        try (TensorView v = c.map(name)) {
            v.readFloats(0, out, 0, out.length);
        }
        return out;
    }

    static double sqnr(float[] ref, float[] got) {
        double s = 0;
        double e = 0;
        for (int i = 0; i < ref.length; i++) {
            s += (double) ref[i] * ref[i];
            e += ((double) ref[i] - got[i]) * ((double) ref[i] - got[i]);
        }
        return 10 * Math.log10(s / e);
    }

    @Test
    void everyFormatWritesAReadableCheckpointCloseToTheOriginal() throws IOException {
        for (String format : List.of("compressed-tensors", "gptq", "slimq", "dequantized")) {
            Path out = tmp.resolve(format);
            QuantizeOptions o = opts(Method.EASYQUANT, format);
            if (format.equals("gptq")) {
                o = new QuantizeOptions(Method.EASYQUANT, 4, 64, true, format, Optional.empty(), OutlierMode.AUTO, 3.0, Granularity.DEFAULT,
                        Optional.empty(), TensorPolicy.defaults(), false, 0, 2, false, false);
            }
            QuantizeResult r = QuantizeService.run(llama, out, o, ProgressListener.NONE);
            assertEquals(14, r.report().tensorCount(), format);
            assertTrue(Files.isRegularFile(out.resolve("quantization-report.json")), format);
            assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")), format);
            try (Checkpoint orig = Checkpoint.open(llama); Checkpoint q = Checkpoint.open(out)) {
                String w = "model.layers.1.mlp.down_proj.weight";
                float[] ref = floats(orig, w);
                float[] got;
                if (format.equals("dequantized")) {
                    assertTrue(QuantFormat.detect(q).isEmpty());
                    got = floats(q, w);
                } else {
                    QuantizedCheckpointReader reader = QuantFormat.detect(q).orElseThrow();
                    assertEquals(14, reader.weights().size(), format);
                    got = reader.dequantize(w);
                    assertTrue(q.configJson().orElseThrow().has("quantization_config"), format);
                }
                double db = sqnr(ref, got);
                assertTrue(db > 15, format + ": SQNR " + db);
                // untouched tensors are copied bit for bit
                assertArrayEquals(floats(orig, "model.norm.weight"), floats(q, "model.norm.weight"), format);
                JsonNode rep = Json.MAPPER.readTree(out.resolve("quantization-report.json").toFile());
                assertEquals(14, rep.get("tensors").size());
                assertEquals(r.report().bitsPerWeight(), rep.get("bits_per_weight").asDouble(), 1e-12);
            }
        }
    }

    @Test
    void outputIsByteIdenticalForAnyThreadCountAndAcrossRuns() throws IOException {
        for (Method m : List.of(Method.EASYQUANT, Method.FINEQUANT, Method.RTN)) {
            Path a = tmp.resolve(m + "-1");
            Path b = tmp.resolve(m + "-2");
            Path c = tmp.resolve(m + "-2again");
            QuantizeService.run(llama, a, with(opts(m, "slimq"), 1), ProgressListener.NONE);
            QuantizeService.run(llama, b, with(opts(m, "slimq"), 2), ProgressListener.NONE);
            QuantizeService.run(llama, c, with(opts(m, "slimq"), 2), ProgressListener.NONE);
            assertSameFiles(a, b);
            assertSameFiles(a, c);
        }
    }

    static void assertSameFiles(Path a, Path b) throws IOException {
        List<Path> fa;
        try (Stream<Path> s = Files.list(a)) {
            fa = s.map(a::relativize).sorted().toList();
        }
        List<Path> fb;
        try (Stream<Path> s = Files.list(b)) {
            fb = s.map(b::relativize).sorted().toList();
        }
        assertEquals(fa, fb);
        for (Path f : fa) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f.toString());
        }
    }

    @Test
    void easyquantKeepsOutliersInSlimqAndDropsThemForCompressedTensors() {
        QuantizeResult kept = QuantizeService.run(llama, tmp.resolve("s"), opts(Method.EASYQUANT, "slimq"), ProgressListener.NONE);
        assertEquals("kept", kept.report().outliers());
        assertTrue(kept.report().tensors().stream().anyMatch(e -> e.outlierFraction() > 0));
        QuantizeResult dropped = QuantizeService.run(llama, tmp.resolve("c"), opts(Method.EASYQUANT, "compressed-tensors"), ProgressListener.NONE);
        assertTrue(dropped.report().outliers().startsWith("dropped"), dropped.report().outliers());
        assertTrue(dropped.report().notes().stream().anyMatch(n -> n.contains("outliers")));
        assertTrue(dropped.report().tensors().stream().allMatch(e -> e.outlierFraction() == 0));
    }

    @Test
    void impossibleRequestsAreRefusedBeforeAnythingIsWritten() {
        Path out = tmp.resolve("never");
        QuantizeOptions on = new QuantizeOptions(Method.EASYQUANT, 4, 64, false, "compressed-tensors", Optional.empty(), OutlierMode.ON,
                3.0, Granularity.DEFAULT, Optional.empty(), TensorPolicy.defaults(), false, 0, 1, false, false);
        SlimqException e = assertThrows(SlimqException.class, () -> QuantizeService.run(llama, out, on, ProgressListener.NONE));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        assertTrue(e.getMessage().contains("--format slimq"), e.getMessage());

        QuantizeOptions vllm3 = new QuantizeOptions(Method.RTN, 3, 64, false, "compressed-tensors", Optional.of(Target.VLLM), OutlierMode.AUTO,
                3.0, Granularity.DEFAULT, Optional.empty(), TensorPolicy.defaults(), false, 0, 1, false, false);
        assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class, () -> QuantizeService.run(llama, out, vllm3, ProgressListener.NONE)).failure());

        QuantizeOptions hqqChannel = new QuantizeOptions(Method.HQQ, 4, QuantizeOptions.PER_CHANNEL, false, "slimq", Optional.empty(),
                OutlierMode.AUTO, 3.0, Granularity.DEFAULT, Optional.empty(), TensorPolicy.defaults(), false, 0, 1, false, false);
        // tiny llama rows are 64 or 192 wide: hqq accepts per-channel groups that short, so use the small preset's 768
        Path small = tmp.resolve("small");
        SynthCheckpoint.write(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.SMALL), small);
        assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class,
                () -> QuantizeService.run(small, out, hqqChannel, ProgressListener.NONE)).failure());

        QuantizeOptions strict = new QuantizeOptions(Method.RTN, 4, 48, false, "slimq", Optional.empty(), OutlierMode.AUTO,
                3.0, Granularity.DEFAULT, Optional.empty(), TensorPolicy.defaults(), true, 0, 1, false, false);
        assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class, () -> QuantizeService.run(llama, out, strict, ProgressListener.NONE)).failure());
        assertFalse(Files.exists(out));
    }

    @Test
    void groupSizeFallsBackAndSaysSo() {
        // 48 divides neither 64 nor 192 evenly... 192 = 4 x 48 does; 64 does not: q/k/v/o fall back to 32.
        QuantizeOptions o = new QuantizeOptions(Method.RTN, 4, 48, false, "slimq", Optional.empty(), OutlierMode.AUTO,
                3.0, Granularity.DEFAULT, Optional.empty(), TensorPolicy.defaults(), false, 0, 1, false, false);
        QuantizeResult r = QuantizeService.run(llama, tmp.resolve("fb"), o, ProgressListener.NONE);
        assertTrue(r.report().notes().stream().anyMatch(n -> n.contains("group size 48 does not divide 64 columns; used 32")), r.report().notes().toString());
        assertTrue(r.report().tensors().stream().anyMatch(e -> e.groupSize() == 48));
        assertTrue(r.report().tensors().stream().anyMatch(e -> e.groupSize() == 32));
    }

    @Test
    void fusedGroupsShareOneSchemeUnderFinequant() {
        QuantizeResult r = QuantizeService.run(llama, tmp.resolve("fq"), opts(Method.FINEQUANT, "slimq"), ProgressListener.NONE);
        Map<String, Integer> g = new java.util.HashMap<>();
        for (QuantizationReport.TensorEntry e : r.report().tensors()) {
            g.put(e.name(), e.groupSize());
            assertTrue(e.finequant() != null && !e.finequant().isEmpty(), e.name());
        }
        for (int layer = 0; layer < 2; layer++) {
            String p = "model.layers." + layer + ".";
            assertEquals(g.get(p + "self_attn.q_proj.weight"), g.get(p + "self_attn.k_proj.weight"));
            assertEquals(g.get(p + "self_attn.q_proj.weight"), g.get(p + "self_attn.v_proj.weight"));
            assertEquals(g.get(p + "mlp.gate_proj.weight"), g.get(p + "mlp.up_proj.weight"));
        }
    }

    @Test
    void policyKeepsExcludedFusedGroupsWholeAndQuantizesTheLmHeadOnRequest() {
        QuantizeOptions o = new QuantizeOptions(Method.RTN, 4, 64, false, "slimq", Optional.empty(), OutlierMode.AUTO, 3.0, Granularity.DEFAULT,
                Optional.empty(), new TensorPolicy(List.of(), List.of("*.layers.0.self_attn.k_proj.weight"), OptionalInt.of(8), OptionalInt.empty()),
                false, 0, 1, false, false);
        QuantizeResult r = QuantizeService.run(llama, tmp.resolve("pol"), o, ProgressListener.NONE);
        List<String> names = r.report().tensors().stream().map(QuantizationReport.TensorEntry::name).toList();
        assertFalse(names.contains("model.layers.0.self_attn.q_proj.weight"));
        assertTrue(names.contains("model.layers.1.self_attn.q_proj.weight"));
        assertTrue(names.contains("lm_head.weight"));
        assertEquals(8, r.report().tensors().stream().filter(e -> e.name().equals("lm_head.weight")).findFirst().orElseThrow().bits());
        assertTrue(r.report().notes().stream().anyMatch(n -> n.contains("layers.0.attn_in")), r.report().notes().toString());
    }

    @Test
    void nanWeightIsBadInputNamingTheTensorAndLeavesNoOutput() throws IOException {
        Path bad = tmp.resolve("bad");
        try (Checkpoint c = Checkpoint.open(llama)) {
            try (CheckpointWriter w = CheckpointWriter.create(bad, c.tensors().stream()
                    .map(t -> TensorInfo.planned(t.name(), t.dtype(), t.shape())).toList(), Map.of(), 0, c)) {
                for (TensorInfo t : c.tensors()) {
                    float[] v = floats(c, t.name());
                    if (t.name().equals("model.layers.1.mlp.up_proj.weight")) {
                        v[7] = Float.NaN;
                    }
                    try (SafetensorsWriter.TensorSink s = w.open(t.name())) {
                        s.writeFloats(v, 0, v.length);
                    }
                }
                w.commit();
            }
        }
        Path out = tmp.resolve("nan-out");
        SlimqException e = assertThrows(SlimqException.class,
                () -> QuantizeService.run(bad, out, opts(Method.RTN, "slimq"), ProgressListener.NONE));
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertTrue(e.getMessage().contains("model.layers.1.mlp.up_proj.weight"), e.getMessage());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".nan-out")), "no staging left");
        }
    }

    @Test
    void existingOutputNeedsForceAndQuantizedInputIsRefused() {
        Path out = tmp.resolve("once");
        QuantizeService.run(llama, out, opts(Method.RTN, "compressed-tensors"), ProgressListener.NONE);
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> QuantizeService.run(llama, out, opts(Method.RTN, "slimq"), ProgressListener.NONE)).failure());
        assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class,
                () -> QuantizeService.run(out, tmp.resolve("twice"), opts(Method.RTN, "slimq"), ProgressListener.NONE)).failure());
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> QuantizeService.run(llama, llama.resolve("inside"), opts(Method.RTN, "slimq"), ProgressListener.NONE)).failure());
    }

    @Test
    void dryRunWritesNothing() {
        QuantizeOptions o = opts(Method.EASYQUANT, "slimq");
        QuantizeOptions dry = new QuantizeOptions(o.method(), o.bits(), o.groupSize(), o.symmetric(), o.format(), o.target(), o.outliers(),
                o.outlierSigma(), o.granularity(), o.scaleDtype(), o.policy(), o.strict(), o.maxShardBytes(), 1, false, true);
        QuantizeResult r = QuantizeService.run(llama, tmp.resolve("dry"), dry, ProgressListener.NONE);
        assertTrue(r.dryRun());
        assertTrue(r.outputBytes() > 0 && r.outputBytes() < r.inputBytes());
        assertFalse(Files.exists(tmp.resolve("dry")));
    }

    @Test
    void dequantizeRestoresFloatsUnderTheOriginalNames() {
        Path q = tmp.resolve("ct");
        QuantizeService.run(llama, q, opts(Method.EASYQUANT, "compressed-tensors"), ProgressListener.NONE);
        Path back = tmp.resolve("back");
        DequantizeService.Result r = DequantizeService.run(q, back, Optional.empty(), false, 0, 2, ProgressListener.NONE);
        assertEquals(14, r.weights());
        assertEquals("BF16", r.dtype());
        try (Checkpoint orig = Checkpoint.open(llama); Checkpoint d = Checkpoint.open(back)) {
            assertEquals(orig.tensors().stream().map(TensorInfo::name).sorted().toList(),
                    d.tensors().stream().map(TensorInfo::name).sorted().toList());
            assertTrue(QuantFormat.detect(d).isEmpty());
            assertFalse(d.configJson().orElseThrow().has("quantization_config"));
            String w = "model.layers.0.self_attn.o_proj.weight";
            assertTrue(sqnr(floats(orig, w), floats(d, w)) > 15);
        }
        assertFalse(Files.exists(back.resolve("quantization-report.json")));
    }
}
