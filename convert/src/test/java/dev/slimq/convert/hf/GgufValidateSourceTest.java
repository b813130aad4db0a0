package dev.slimq.convert.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.convert.ConvertService;
import dev.slimq.convert.gguf.GgmlType;
import dev.slimq.convert.gguf.GgufFile;
import dev.slimq.convert.gguf.GgufTensorInfo;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.convert.gguf.GgufWriter;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.compute.ActivationType;
import dev.slimq.core.compute.CpuBackend;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.quantize.ValidateService;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A generated tiny Llama converted to each GGUF block type and validated on the CPU backend: kernel
 * errors within tolerance, output errors against the original plausible for the type, the Q/K rows
 * lined up with the original's, and hostile or unsupported files refused.
 */
class GgufValidateSourceTest {
    @TempDir
    static Path dir;

    static Path llama;

    @BeforeAll
    static void model() {
        llama = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
    }

    private static Path convert(GgmlType type) {
        Path g = dir.resolve("m-" + type.cliName() + ".gguf");
        if (!g.toFile().exists()) {
            ConvertService.run(llama, g, new ConvertService.Options(ConvertService.Target.GGUF, Optional.of(type), Optional.empty(), false, 0, false, 2));
        }
        return g;
    }

    private static ValidateService.Result validate(Path g, OptionalDouble maxError) {
        ValidateService.Options o = new ValidateService.Options(Optional.of(llama), 4, 0, maxError, ActivationType.F32);
        try (GgufValidateSource s = GgufValidateSource.open(g); CpuBackend cpu = CpuBackend.create(CpuBackend.Kind.VECTOR, 2)) {
            return ValidateService.run(g.toString(), s, o, cpu, ProgressListener.NONE);
        }
    }

    private static double meanOutputError(ValidateService.Result r) {
        return r.layers().stream().mapToDouble(ValidateService.Layer::outputRelError).average().orElseThrow();
    }

    @Test
    void everyTypeValidatesWithPlausibleErrors() {
        double[] mean = new double[3];
        GgmlType[] types = {GgmlType.Q8_0, GgmlType.Q4_1, GgmlType.Q4_0};
        for (int i = 0; i < types.length; i++) {
            Path g = convert(types[i]);
            List<String> quantized = new ArrayList<>();
            try (GgufFile f = GgufFile.open(g)) {
                for (GgufTensorInfo t : f.tensors()) {
                    if (t.type() == GgmlType.Q8_0 || t.type() == GgmlType.Q4_0 || t.type() == GgmlType.Q4_1) {
                        quantized.add(t.name());
                    }
                }
            }
            ValidateService.Result r = validate(g, OptionalDouble.empty());
            assertEquals("GGUF", r.format());
            assertEquals(quantized, r.layers().stream().map(ValidateService.Layer::name).toList(), "every quantized tensor, in file order");
            assertTrue(quantized.size() >= 2 * 7, "the tiny llama's 7 linears per layer: " + quantized);
            assertTrue(r.passed(), types[i] + ": " + r);
            for (ValidateService.Layer l : r.layers()) {
                assertTrue(l.kernelRelError() <= 1e-5 && l.kernelRelErrorHeavy() <= 1e-5, types[i] + " " + l);
                assertTrue(l.outputRelError() > 0 && l.outputRelError() < (types[i] == GgmlType.Q8_0 ? 0.05 : 0.5), types[i] + " " + l);
            }
            mean[i] = meanOutputError(r);
        }
        // 8-bit steps are 16x finer than 4-bit ones: the output error shrinks by about that much.
        assertTrue(mean[0] < mean[2] / 5, "Q8_0 " + mean[0] + " vs Q4_0 " + mean[2]);
        assertTrue(mean[1] < mean[2], "Q4_1 (min and scale) " + mean[1] + " vs Q4_0 " + mean[2]);
    }

    @Test
    void qkRowsAreComparedInTheSameOrder() {
        Path g = convert(GgmlType.Q8_0);
        try (GgufValidateSource s = GgufValidateSource.open(g); GgufFile f = GgufFile.open(g); Checkpoint ref = Checkpoint.open(llama)) {
            for (String w : List.of("blk.0.attn_q.weight", "blk.1.attn_k.weight", "blk.0.attn_v.weight")) {
                String hf = s.referenceNames(w).getFirst();
                TensorInfo t = ref.tensor(hf);
                float[] original = new float[Math.toIntExact(t.elementCount())];
                try (TensorView v = ref.map(hf)) {
                    v.readFloats(0, original, 0, original.length);
                }
                int rows = Math.toIntExact(t.rows());
                int cols = Math.toIntExact(t.cols());
                float[] aligned = s.alignReference(w, original, rows, cols);
                float[] gguf = f.readFloats(f.tensor(w).orElseThrow());
                double alignedErr = relDiff(gguf, aligned);
                assertTrue(alignedErr < 0.02, w + ": the aligned original matches the Q8_0 weight row for row, " + alignedErr);
                // Within a head of 16 rows, HF row a*8 + b is ggml row 2b + a (LlamaModel.permute): check one by hand.
                if (!w.contains("attn_v")) {
                    assertTrue(relDiff(gguf, original) > 0.5, w + ": the converter permuted its rows");
                    assertEquals(original[8 * cols], aligned[cols], w + ": ggml row 1 is HF row 8");
                    assertEquals(original[cols], aligned[2 * cols], w + ": ggml row 2 is HF row 1");
                } else {
                    assertArrayEquals(original, aligned, "v is not permuted");
                }
            }
            assertEquals(List.of("model.layers.1.mlp.down_proj.weight"), s.referenceNames("blk.1.ffn_down.weight"));
        }
    }

    private static double relDiff(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (double) (a[i] - b[i]) * (a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void tightMaxErrorFailsTheRun() {
        ValidateService.Result r = validate(convert(GgmlType.Q4_0), OptionalDouble.of(1e-6));
        assertTrue(!r.passed() && r.kernelFailures() == 0 && r.errorFailures() == r.layers().size(), r.toString());
    }

    private static Path write(String name, Map<String, GgufValue> kv, GgmlType type, long[] shape, byte[] data) {
        Path f = dir.resolve(name);
        try (GgufWriter w = GgufWriter.create(f, kv, List.of(new GgufWriter.Planned("blk.0.attn_q.weight", shape, type)))) {
            w.write("blk.0.attn_q.weight", ByteBuffer.wrap(data));
            w.commit();
        }
        return f;
    }

    @Test
    void refusesKQuantsAndFloatOnlyFiles() {
        Path k = write("k.gguf", Map.of("general.architecture", GgufValue.string("llama")), GgmlType.Q4_K, new long[] {2, 256}, new byte[2 * 144]);
        SlimqException e = assertThrows(SlimqException.class, () -> GgufValidateSource.open(k));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        assertTrue(e.getMessage().contains("Q4_K") && e.getMessage().contains("blk.0.attn_q.weight"), e.getMessage());
        Path f16 = write("f16.gguf", Map.of(), GgmlType.F16, new long[] {2, 32}, new byte[128]);
        e = assertThrows(SlimqException.class, () -> GgufValidateSource.open(f16));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        assertTrue(e.getMessage().contains("no quantized weights"), e.getMessage());
        Path noArch = write("noarch.gguf", Map.of("general.architecture", GgufValue.string("gpt9")), GgmlType.Q8_0, new long[] {1, 32}, new byte[34]);
        try (GgufValidateSource s = GgufValidateSource.open(noArch)) {
            e = assertThrows(SlimqException.class, () -> s.referenceNames("blk.0.attn_q.weight"));
            assertEquals(Failure.UNSUPPORTED, e.failure());
            assertTrue(e.getMessage().contains("gpt9"), e.getMessage());
        }
    }
}
