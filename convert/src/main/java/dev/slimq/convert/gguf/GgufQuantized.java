package dev.slimq.convert.gguf;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * GGUF's 32-weight blocks as the logical {@link QuantizedTensor} the fused kernels run, and the exact
 * values those blocks stand for, as ggml's {@code dequantize_row_*} define them:
 * <ul>
 * <li>Q8_0 ({@code half d; int8 qs[32]}), {@code w = d * q}: unsigned code {@code q + 128} under the
 *     symmetric 8-bit scheme's constant zero 128, f16 scale {@code d}. Exact.</li>
 * <li>Q4_0 ({@code half d; u8 qs[16]}), {@code w = d * (q - 8)}: the symmetric 4-bit scheme (zero 8),
 *     f16 scale {@code d}. Exact.</li>
 * <li>Q4_1 ({@code half d, m; u8 qs[16]}), {@code w = d * q + m}: the asymmetric 4-bit scheme with
 *     float zeros, f32 scale {@code d} (the f16 value, exact in f32) and zero {@code z = fl32(-m / d)},
 *     so {@code d * z = -m (1 + e)}, {@code |e| <= 2^-24}: about one f32 ulp of {@code m} per weight,
 *     far below the kernel tolerance, which is measured against the exact {@code d * q + m}
 *     ({@link #exactMatmul}). A block with {@code d == 0} (all 32 weights equal {@code m}) is written
 *     exactly as scale {@code m}, zero {@code -1}, codes 0.</li>
 * </ul>
 * Codes: byte {@code j} of a Q4 block's {@code qs} holds weight {@code j} in its low nibble and
 * weight {@code j + 16} in its high nibble. A scale or min that is not finite makes every weight of
 * its block meaningless: {@link Failure#BAD_INPUT}, naming the tensor and block. Other block types
 * (the K-quants, IQ*) are {@link Failure#UNSUPPORTED}: their sub-block scales do not fit one scale per
 * group of the logical form.
 */
public final class GgufQuantized {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int BLOCK = 32;

    private GgufQuantized() {
    }

    /** Whether {@code t} is a block type the kernels run (Q4_0, Q4_1, Q8_0). */
    public static boolean runsOnKernels(GgmlType t) {
        return t == GgmlType.Q4_0 || t == GgmlType.Q4_1 || t == GgmlType.Q8_0;
    }

    /** The logical form of the rank-2 tensor {@code t} whose bytes are {@code data}. */
    public static QuantizedTensor toLogical(GgufTensorInfo t, MemorySegment data) {
        int[] rc = rowsCols(t);
        int rows = rc[0];
        int cols = rc[1];
        int groups = rows * (cols / BLOCK);
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[groups];
        float[] zeros = new float[groups];
        QuantScheme scheme = switch (t.type()) {
            case Q8_0 -> new QuantScheme(8, BLOCK, true, ZeroMode.INTEGER, DType.F16);
            case Q4_0 -> new QuantScheme(4, BLOCK, true, ZeroMode.INTEGER, DType.F16);
            case Q4_1 -> new QuantScheme(4, BLOCK, false, ZeroMode.FLOAT, DType.F32);
            default -> throw unsupported(t);
        };
        int size = t.type().typeSize();
        for (int b = 0; b < groups; b++) {
            long at = (long) b * size;
            float d = half(data, at, t, b, "scale");
            int base = b * BLOCK;
            switch (t.type()) {
                case Q8_0 -> {
                    for (int j = 0; j < BLOCK; j++) {
                        codes[base + j] = (byte) (data.get(ValueLayout.JAVA_BYTE, at + 2 + j) + 128);
                    }
                    scales[b] = d;
                    zeros[b] = 128;
                }
                case Q4_0 -> {
                    nibbles(data, at + 2, codes, base);
                    scales[b] = d;
                    zeros[b] = 8;
                }
                default -> {
                    float m = half(data, at + 2, t, b, "min");
                    if (d == 0) {
                        // d * q + m = m for every code: scale m, zero -1, codes 0 gives m * (0 + 1), exactly.
                        scales[b] = m;
                        zeros[b] = m == 0 ? 0 : -1;
                    } else {
                        nibbles(data, at + 4, codes, base);
                        scales[b] = d;
                        zeros[b] = -m / d;
                    }
                }
            }
        }
        return new QuantizedTensor(t.name(), rows, cols, scheme, codes, scales, zeros, null);
    }

    /**
     * {@code y[b * rows + r] = sum_c x[b * cols + c] * w(r, c)} in float64 with {@code w} the block
     * values computed exactly from the bytes ({@code d * q + m} of halves and small integers is exact
     * in double; ggml's f32 {@code dequantize_row_*} result is its rounding to nearest).
     */
    public static double[] exactMatmul(GgufTensorInfo t, MemorySegment data, float[] x, int batch) {
        int[] rc = rowsCols(t);
        int rows = rc[0];
        int cols = rc[1];
        if (batch < 1 || x.length < (long) batch * cols) {
            throw new IllegalArgumentException(x.length + " activations for batch " + batch + " x " + cols);
        }
        double[] y = new double[Math.multiplyExact(batch, rows)];
        double[] w = new double[cols];
        for (int r = 0; r < rows; r++) {
            exactRow(t, data, r, cols, w);
            for (int b = 0; b < batch; b++) {
                double s = 0;
                for (int c = 0; c < cols; c++) {
                    s += w[c] * x[b * cols + c];
                }
                y[b * rows + r] = s;
            }
        }
        return y;
    }

    /** Row {@code r} of the tensor as exact doubles: a direct reading of ggml's block definitions. */
    static void exactRow(GgufTensorInfo t, MemorySegment data, int r, int cols, double[] w) {
        int size = t.type().typeSize();
        int perRow = cols / BLOCK;
        for (int k = 0; k < perRow; k++) {
            int b = r * perRow + k;
            long at = (long) b * size;
            double d = half(data, at, t, b, "scale");
            for (int j = 0; j < BLOCK; j++) {
                w[k * BLOCK + j] = switch (t.type()) {
                    case Q8_0 -> d * data.get(ValueLayout.JAVA_BYTE, at + 2 + j);
                    case Q4_0 -> d * (nibble(data, at + 2, j) - 8);
                    case Q4_1 -> d * nibble(data, at + 4, j) + (double) half(data, at + 2, t, b, "min");
                    default -> throw unsupported(t);
                };
            }
        }
    }

    /** Code {@code j} (0..31) of the nibbles at {@code qs}: low nibbles hold 0..15, high nibbles 16..31. */
    private static int nibble(MemorySegment s, long qs, int j) {
        int v = s.get(ValueLayout.JAVA_BYTE, qs + (j & 15)) & 0xFF;
        return j < 16 ? v & 0xF : v >>> 4;
    }

    private static void nibbles(MemorySegment s, long qs, byte[] codes, int base) {
        for (int j = 0; j < 16; j++) {
            int v = s.get(ValueLayout.JAVA_BYTE, qs + j) & 0xFF;
            codes[base + j] = (byte) (v & 0xF);
            codes[base + 16 + j] = (byte) (v >>> 4);
        }
    }

    private static float half(MemorySegment s, long at, GgufTensorInfo t, int block, String what) {
        float v = Float.float16ToFloat(s.get(I16, at));
        if (!Float.isFinite(v)) {
            throw new SlimqException(Failure.BAD_INPUT, "GGUF tensor '" + t.name() + "': block " + block + " has a non-finite " + what + " (" + v + ")");
        }
        return v;
    }

    /** {@code [rows, cols]} of a rank-2 tensor of a kernel block type, within the logical form's limits. */
    static int[] rowsCols(GgufTensorInfo t) {
        if (!runsOnKernels(t.type())) {
            throw unsupported(t);
        }
        long[] s = t.shape();
        if (s.length != 2) {
            throw new SlimqException(Failure.UNSUPPORTED, "GGUF tensor '" + t.name() + "' is a " + t.type() + " tensor of rank " + s.length
                    + "; validate runs rank-2 weights");
        }
        if (s[0] * s[1] > Integer.MAX_VALUE - 8) {
            throw new SlimqException(Failure.UNSUPPORTED, "GGUF tensor '" + t.name() + "' has " + s[0] * s[1] + " weights; validate handles at most 2^31 - 9");
        }
        return new int[] {(int) s[0], (int) s[1]};
    }

    static SlimqException unsupported(GgufTensorInfo t) {
        return new SlimqException(Failure.UNSUPPORTED, "GGUF tensor '" + t.name() + "' is " + t.type()
                + "; validate runs Q4_0, Q4_1 and Q8_0 blocks (what slimq writes), not K-quants or other block types");
    }
}
