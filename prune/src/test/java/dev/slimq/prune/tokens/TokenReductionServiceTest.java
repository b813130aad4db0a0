package dev.slimq.prune.tokens;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file-level service: layout of the output, copy-through, refusals, thread-count independence. */
class TokenReductionServiceTest {
    @TempDir
    Path dir;

    static final int B = 3;
    static final int N = 16;
    static final int D = 6;
    static final int H = 2;

    private Path input(DType dtype) {
        Path p = dir.resolve("in-" + dtype.wireName() + ".safetensors");
        SplittableRandom rng = new SplittableRandom(11);
        float[] x = new float[B * N * D];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextDouble(-1, 1);
        }
        float[] a = new float[B * H * N];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rng.nextDouble();
        }
        var plan = WritePlan.of(List.of(TensorInfo.planned("vision", dtype, B, N, D), TensorInfo.planned("attn", DType.F32, B, H, N),
                TensorInfo.planned("bias", DType.F32, 2)), Map.of("note", "test"));
        try (SafetensorsWriter w = SafetensorsWriter.create(p, plan)) {
            w.writeFloats("vision", x);
            w.writeFloats("attn", a);
            w.writeFloats("bias", new float[] {1, 2});
            w.commit();
        }
        return p;
    }

    private static TokenReductionService.Request request(String method, double keep, String scores, boolean keepFirst) {
        return new TokenReductionService.Request(TokenMethod.of(method, TokenMethod.Settings.DEFAULTS), keep, 0, List.of(), scores, 0, keepFirst);
    }

    @Test
    void writesReducedTensorsIndicesAndSizesAndCopiesTheRest() {
        Path in = input(DType.BF16);
        Path out = dir.resolve("out.safetensors");
        var r = TokenReductionService.run(in, out, request("tome", 2.0 / 9, "attn", false), false, 2);
        int k = 4; // round(16 * 2/9)
        assertEquals(List.of("attn", "bias"), r.copied());
        assertEquals(1, r.tensors().size());
        var t = r.tensors().getFirst();
        assertEquals(k, t.tokensOut());
        assertEquals(1.0, t.pooledFidelity(), 1e-3); // BF16 rounding of the stored means only
        assertNotNull(t.attentionError());
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(DType.BF16, f.tensor("vision").dtype());
            assertArrayEquals(new long[] {B, k, D}, f.tensor("vision").shape());
            assertEquals(DType.I64, f.tensor("vision.kept_index").dtype());
            assertArrayEquals(new long[] {B, k}, f.tensor("vision.kept_index").shape());
            assertEquals(DType.F32, f.tensor("vision.sizes").dtype());
            assertEquals("test", f.metadata().get("note"));
            try (TensorView idx = f.map("vision.kept_index"); TensorView sizes = f.map("vision.sizes"); TensorView bias = f.map("bias")) {
                for (int b = 0; b < B; b++) {
                    float total = 0;
                    long prev = -1;
                    for (int j = 0; j < k; j++) {
                        long p = idx.segment().get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), (b * k + j) * 8L);
                        assertTrue(p > prev && p < N);
                        prev = p;
                        total += sizes.getFloat(b * k + j);
                    }
                    assertEquals(N, total);
                }
                assertEquals(2f, bias.getFloat(1));
            }
        }
    }

    @Test
    void outputIsIdenticalForAnyThreadCount() throws IOException {
        Path in = input(DType.F32);
        for (String m : TokenMethod.NAMES) {
            boolean needsFrames = m.equals("temporal");
            var req = new TokenReductionService.Request(TokenMethod.of(m, TokenMethod.Settings.DEFAULTS), m.equals("pool") ? Double.NaN : 0.3, 0,
                    List.of("vision"), "attn", needsFrames ? 4 : 0, false);
            Path one = dir.resolve(m + "-1.safetensors");
            Path four = dir.resolve(m + "-4.safetensors");
            var r1 = TokenReductionService.run(in, one, req, false, 1);
            var r4 = TokenReductionService.run(in, four, req, false, 4);
            assertArrayEquals(Files.readAllBytes(one), Files.readAllBytes(four), m);
            assertEquals(r1, r4, m);
        }
    }

    @Test
    void scoreMethodsRefuseWithoutScoresAndWriteNothing() {
        Path in = input(DType.F32);
        Path out = dir.resolve("none.safetensors");
        for (String m : List.of("visionzip", "fastv", "fastervlm")) {
            SlimqException e = assertThrows(SlimqException.class, () -> TokenReductionService.run(in, out, request(m, 0.5, null, false), false, 1));
            assertEquals(Failure.UNSUPPORTED, e.failure(), m);
        }
        assertFalse(Files.exists(out));
    }

    @Test
    void refusals() {
        Path in = input(DType.F32);
        Path out = dir.resolve("none.safetensors");
        // 15 tokens after [CLS] are not a square grid.
        assertFailure(Failure.UNSUPPORTED, () -> TokenReductionService.run(in, out, request("pool", Double.NaN, null, true), false, 1));
        // 16 tokens pool to 4, not 8.
        assertFailure(Failure.UNSUPPORTED, () -> TokenReductionService.run(in, out, request("pool", 0.5, null, false), false, 1));
        assertFailure(Failure.UNSUPPORTED, () -> TokenReductionService.run(in, out, request("temporal", 0.5, null, false), false, 1));
        assertFailure(Failure.USAGE, () -> TokenReductionService.run(in, out, request("tome", Double.NaN, null, false), false, 1));
        assertFailure(Failure.USAGE, () -> TokenReductionService.run(in, out, request("tome", 0.5, "missing", false), false, 1));
        assertFailure(Failure.BAD_INPUT, () -> TokenReductionService.run(in, out, request("fastv", 0.5, "bias", false), false, 1));
        assertFailure(Failure.USAGE, () -> TokenReductionService.run(in, in, request("tome", 0.5, null, false), true, 1));
        assertFailure(Failure.USAGE, () -> new TokenReductionService.Request(new ToMe(), 1.5, 0, List.of(), null, 0, false));
        var frames = new TokenReductionService.Request(new TemporalMerge(0.9), 0.5, 0, List.of(), null, 5, false);
        assertFailure(Failure.USAGE, () -> TokenReductionService.run(in, out, frames, false, 1));
        var tooMany = new TokenReductionService.Request(new ToMe(), Double.NaN, 17, List.of(), null, 0, false);
        assertFailure(Failure.USAGE, () -> TokenReductionService.run(in, out, tooMany, false, 1));
        assertFalse(Files.exists(out));
    }

    @Test
    void poolWithoutABudgetKeepsAQuarterAndTheMean() {
        Path in = input(DType.F32);
        // Named, since by default the 3-D [batch, heads, tokens] scores would be reduced too (and refused: 2 per frame).
        var req = new TokenReductionService.Request(new GridPool(), Double.NaN, 0, List.of("vision"), null, 0, false);
        var r = TokenReductionService.run(in, dir.resolve("pool.safetensors"), req, false, 1);
        assertEquals(4, r.tensors().getFirst().tokensOut());
        assertEquals(1.0, r.tensors().getFirst().pooledFidelity(), 1e-6);
        assertNull(r.tensors().getFirst().attentionError());
    }

    private static void assertFailure(Failure expected, org.junit.jupiter.api.function.Executable run) {
        SlimqException e = assertThrows(SlimqException.class, run);
        assertEquals(expected, e.failure(), e.getMessage());
    }
}
