package dev.slimq.convert.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.compute.CpuBackend;
import dev.slimq.core.compute.PreparedWeights;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * GGUF blocks built byte by byte in the test from ggml-common.h's structs ({@code block_q8_0}: half d,
 * int8 qs[32]; {@code block_q4_0}: half d, u8 qs[16]; {@code block_q4_1}: half d, half m, u8 qs[16];
 * a Q4 byte {@code j} holds weight {@code j} low and {@code j + 16} high), their values computed in the
 * test from the fields with ggml's formulas ({@code d*q}, {@code d*(q-8)}, {@code d*q + m}) in double,
 * and the logical form, the exact product and both CPU kernels checked against them.
 */
class GgufQuantizedTest {
    private static final int ROWS = 3;
    private static final int COLS = 96; // three blocks per row

    /** One tensor's blocks with their fields kept for the test's own arithmetic. */
    private record Blocks(GgmlType type, byte[] bytes, double[] values) {
        GgufTensorInfo info() {
            return new GgufTensorInfo("blk.0.ffn_up.weight", GgufTensorInfo.dimsOf(new long[] {ROWS, COLS}), type, 0);
        }

        MemorySegment data() {
            return MemorySegment.ofArray(bytes);
        }
    }

    private static void putHalf(byte[] b, int at, float v) {
        short h = Float.floatToFloat16(v);
        b[at] = (byte) h;
        b[at + 1] = (byte) (h >>> 8);
    }

    private static double half(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    /** Random blocks of {@code type}; block {@code zeroScaleBlock} gets d = 0 (Q4_1: all weights equal m). */
    private static Blocks blocks(GgmlType type, long seed, int zeroScaleBlock) {
        Random rnd = new Random(seed);
        int size = type.typeSize();
        int n = ROWS * COLS / 32;
        byte[] b = new byte[n * size];
        double[] v = new double[ROWS * COLS];
        for (int k = 0; k < n; k++) {
            int at = k * size;
            float d = k == zeroScaleBlock ? 0f : (float) (0.001 + 0.05 * rnd.nextDouble());
            float m = (float) (-0.5 + rnd.nextDouble() * 0.6);
            putHalf(b, at, d);
            int[] q = new int[32];
            for (int j = 0; j < 32; j++) {
                q[j] = type == GgmlType.Q8_0 ? rnd.nextInt(256) - 128 : rnd.nextInt(16);
            }
            if (type == GgmlType.Q8_0) {
                for (int j = 0; j < 32; j++) {
                    b[at + 2 + j] = (byte) q[j];
                    v[32 * k + j] = half(d) * q[j];
                }
            } else {
                int qs = at + (type == GgmlType.Q4_1 ? 4 : 2);
                if (type == GgmlType.Q4_1) {
                    putHalf(b, at + 2, m);
                }
                for (int j = 0; j < 16; j++) {
                    b[qs + j] = (byte) (q[j] | q[j + 16] << 4);
                }
                for (int j = 0; j < 32; j++) {
                    v[32 * k + j] = type == GgmlType.Q4_0 ? half(d) * (q[j] - 8) : half(d) * q[j] + half(m);
                }
            }
        }
        return new Blocks(type, b, v);
    }

    private static double[] matmul(double[] w, float[] x, int batch) {
        double[] y = new double[batch * ROWS];
        for (int bt = 0; bt < batch; bt++) {
            for (int r = 0; r < ROWS; r++) {
                double s = 0;
                for (int c = 0; c < COLS; c++) {
                    s += w[r * COLS + c] * x[bt * COLS + c];
                }
                y[bt * ROWS + r] = s;
            }
        }
        return y;
    }

    private static double relErr(float[] y, double[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (y[i] - ref[i]) * (y[i] - ref[i]);
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    private static float[] activations(int batch, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[batch * COLS];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    @Test
    void handWorkedValues() {
        // Q4_1: d = 0.5, m = -1, byte 0 = 0x3A: weight 0 = 0.5*10 - 1 = 4, weight 16 = 0.5*3 - 1 = 0.5.
        byte[] q41 = new byte[20];
        putHalf(q41, 0, 0.5f);
        putHalf(q41, 2, -1f);
        q41[4] = 0x3A;
        QuantizedTensor t = GgufQuantized.toLogical(new GgufTensorInfo("w", new long[] {32, 1}, GgmlType.Q4_1, 0), MemorySegment.ofArray(q41));
        float[] w = t.dequantize();
        assertEquals(4f, w[0]);
        assertEquals(0.5f, w[16]);
        assertEquals(-1f, w[1], "code 0 is the block's min");
        // Q4_0: d = 2, byte 0 = 0x0F: weight 0 = 2*(15-8) = 14, weight 16 = 2*(0-8) = -16.
        byte[] q40 = new byte[18];
        putHalf(q40, 0, 2f);
        q40[2] = 0x0F;
        w = GgufQuantized.toLogical(new GgufTensorInfo("w", new long[] {32, 1}, GgmlType.Q4_0, 0), MemorySegment.ofArray(q40)).dequantize();
        assertEquals(14f, w[0]);
        assertEquals(-16f, w[16]);
        // Q8_0: d = 0.25, qs[0] = -128, qs[1] = 127: -32 and 31.75.
        byte[] q80 = new byte[34];
        putHalf(q80, 0, 0.25f);
        q80[2] = (byte) -128;
        q80[3] = 127;
        QuantizedTensor t8 = GgufQuantized.toLogical(new GgufTensorInfo("w", new long[] {32, 1}, GgmlType.Q8_0, 0), MemorySegment.ofArray(q80));
        w = t8.dequantize();
        assertEquals(-32f, w[0]);
        assertEquals(31.75f, w[1]);
        assertEquals(0, t8.code(0, 0), "int8 -128 is unsigned code 0 under the constant zero 128");
        assertEquals(255, t8.code(0, 1));
    }

    @Test
    void logicalFormIsTheBlocksValues() {
        for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1}) {
            Blocks bl = blocks(type, 7 + type.ordinal(), 4);
            QuantizedTensor q = GgufQuantized.toLogical(bl.info(), bl.data());
            assertEquals(ROWS, q.rows());
            assertEquals(COLS, q.cols());
            assertEquals(32, q.scheme().groupSize());
            assertEquals(type == GgmlType.Q8_0 ? 8 : 4, q.scheme().bits());
            assertEquals(type == GgmlType.Q4_1 ? ZeroMode.FLOAT : ZeroMode.INTEGER, q.scheme().zeroMode());
            float[] w = q.dequantize();
            float[] ggml = new float[ROWS * COLS];
            GgmlBlocks.decode(type, bl.data(), 0, ggml, 0, ggml.length);
            for (int i = 0; i < w.length; i++) {
                if (type == GgmlType.Q4_1) {
                    // z = fl32(-m/d): one f32 rounding of m, then f32 arithmetic, against the exact d*q + m
                    assertEquals(bl.values()[i], w[i], 1e-6 * (Math.abs(bl.values()[i]) + 1), type + " weight " + i);
                } else {
                    assertEquals((float) bl.values()[i], w[i], type + " weight " + i + " is exact");
                }
                assertEquals((float) bl.values()[i], ggml[i], "ggml's dequantize_row_" + type + " agrees with the fields at " + i);
            }
        }
    }

    @Test
    void zeroScaleQ41BlockIsExactlyItsMin() {
        Blocks bl = blocks(GgmlType.Q4_1, 3, 1);
        QuantizedTensor q = GgufQuantized.toLogical(bl.info(), bl.data());
        float[] w = q.dequantize();
        for (int j = 32; j < 64; j++) {
            assertEquals((float) bl.values()[j], w[j], "d = 0: every weight is m, exactly");
        }
        assertTrue(bl.values()[32] != 0);
    }

    @Test
    void exactProductAndKernelsAgainstScalarProduct() {
        int batch = 3;
        float[] x = activations(batch, 11);
        for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1}) {
            Blocks bl = blocks(type, 100 + type.ordinal(), 2);
            double[] want = matmul(bl.values(), x, batch);
            double[] exact = GgufQuantized.exactMatmul(bl.info(), bl.data(), x, batch);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], exact[i], 1e-12 * Math.abs(want[i]) + 1e-12, type + " exact product " + i);
            }
            QuantizedTensor q = GgufQuantized.toLogical(bl.info(), bl.data());
            for (CpuBackend.Kind kind : CpuBackend.Kind.values()) {
                try (CpuBackend cpu = CpuBackend.create(kind, 2); PreparedWeights p = cpu.prepare(q)) {
                    float[] y = new float[batch * ROWS];
                    cpu.matmul(p, x, batch, y);
                    double e = relErr(y, want);
                    assertTrue(e <= 1e-6, type + " on " + kind + ": kernel error " + e);
                }
            }
        }
    }

    @Test
    void matchesGgmlQuantizerOutput() {
        Random rnd = new Random(5);
        float[] src = new float[ROWS * COLS];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) (rnd.nextGaussian() * 0.05);
        }
        for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1}) {
            byte[] bytes = new byte[(int) type.byteSize(src.length)];
            MemorySegment seg = MemorySegment.ofArray(bytes);
            GgmlBlocks.encode(type, src, 0, src.length, seg, 0);
            float[] ggml = new float[src.length];
            GgmlBlocks.decode(type, seg, 0, ggml, 0, src.length);
            float[] w = GgufQuantized.toLogical(new GgufTensorInfo("w", GgufTensorInfo.dimsOf(new long[] {ROWS, COLS}), type, 0), seg).dequantize();
            for (int i = 0; i < w.length; i++) {
                assertEquals(ggml[i], w[i], type == GgmlType.Q4_1 ? 1e-6 * Math.abs(ggml[i]) + 1e-7 : 0, type + " at " + i);
            }
        }
    }

    @Test
    void refusesWhatTheKernelsCannotRun() {
        SlimqException k = assertThrows(SlimqException.class, () -> GgufQuantized.toLogical(
                new GgufTensorInfo("blk.0.attn_q.weight", new long[] {256, 2}, GgmlType.Q4_K, 0), MemorySegment.ofArray(new byte[288])));
        assertEquals(Failure.UNSUPPORTED, k.failure());
        assertTrue(k.getMessage().contains("blk.0.attn_q.weight") && k.getMessage().contains("Q4_K"), k.getMessage());
        SlimqException rank = assertThrows(SlimqException.class, () -> GgufQuantized.toLogical(
                new GgufTensorInfo("w", new long[] {32, 1, 2}, GgmlType.Q8_0, 0), MemorySegment.ofArray(new byte[68])));
        assertEquals(Failure.UNSUPPORTED, rank.failure());
        for (float bad : new float[] {Float.POSITIVE_INFINITY, Float.NaN}) {
            Blocks bl = blocks(GgmlType.Q4_1, 9, -1);
            putHalf(bl.bytes(), 20 * 4 + 2, bad); // block 4's min
            SlimqException e = assertThrows(SlimqException.class, () -> GgufQuantized.toLogical(bl.info(), bl.data()));
            assertEquals(Failure.BAD_INPUT, e.failure());
            assertTrue(e.getMessage().contains("block 4") && e.getMessage().contains("min"), e.getMessage());
            assertThrows(SlimqException.class, () -> GgufQuantized.exactMatmul(bl.info(), bl.data(), activations(1, 1), 1));
        }
    }

    @Test
    void codesAreOneBytePerWeightInRowOrder() {
        Blocks bl = blocks(GgmlType.Q4_0, 21, -1);
        QuantizedTensor q = GgufQuantized.toLogical(bl.info(), bl.data());
        // byte 5 of block 1 (row 0, columns 32..63): low nibble = column 37, high nibble = column 53
        int byte5 = bl.bytes()[18 + 2 + 5] & 0xFF;
        assertEquals(byte5 & 0xF, q.code(0, 37));
        assertEquals(byte5 >>> 4, q.code(0, 53));
        assertArrayEquals(new float[] {8, 8, 8}, new float[] {q.zeros()[0], q.zeros()[4], q.zeros()[8]});
    }
}
