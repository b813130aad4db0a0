package dev.slimq.convert.gguf;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.Text;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.quantize.method.EasyQuant;
import dev.slimq.quantize.method.Hqq;
import dev.slimq.quantize.method.Quantizer;
import dev.slimq.quantize.method.Rtn;
import dev.slimq.quantize.method.Search;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.Optional;

/**
 * GGUF Q4_0/Q4_1/Q8_0 blocks whose scales come from a slimq {@link Quantizer} instead of ggml's
 * reference rule: same block layout, so llama.cpp loads them unchanged; only the values of
 * {@code d} (and {@code m}) and the codes differ. No outliers: the block formats cannot hold them.
 *
 * <p>Mapping of a slimq result ({@code w = scale·(code − zero)}, scales and float zeros already
 * rounded to F16) to the blocks:
 * <ul>
 * <li>Q4_0 ({@code w = d·(q − 8)}): scheme 4-bit, group 32, symmetric (zero 8), F16 scales;
 *     {@code d = scale}, {@code q = code}. Dequantizes exactly to the slimq result.</li>
 * <li>Q8_0 ({@code w = d·q}, int8 {@code q}): scheme 8-bit, group 32, symmetric (zero 128), F16 scales;
 *     {@code d = scale}, {@code q = code − 128 ∈ [−128, 127]} (ggml's int8 holds −128 and its
 *     dequantizer multiplies it like any other). Dequantizes exactly to the slimq result.</li>
 * <li>Q4_1 ({@code w = d·q + m}): scheme 4-bit, group 32, asymmetric with float zeros, F16;
 *     {@code d = scale}, {@code m = f16(−scale·zero)}, and the codes are recomputed against the stored
 *     {@code d} and {@code m} (the nearest of {@code q·d + m} to the weight, {@code q} in 0..15), so the
 *     file reconstructs exactly what it stores; the rounding of {@code m} means this is not bit-equal
 *     to the slimq result, only as close as F16 allows.</li>
 * </ul>
 * The nibble order is {@link GgmlBlocks}' (byte {@code j} = codes {@code j} and {@code j + 16}).
 */
public final class BlockQuant {
    private BlockQuant() {
    }

    /** The slimq scheme whose results map onto {@code type}'s blocks. */
    public static QuantScheme scheme(GgmlType type) {
        return switch (type) {
            case Q4_0 -> new QuantScheme(4, 32, true, ZeroMode.INTEGER, DType.F16);
            case Q8_0 -> new QuantScheme(8, 32, true, ZeroMode.INTEGER, DType.F16);
            case Q4_1 -> new QuantScheme(4, 32, false, ZeroMode.FLOAT, DType.F16);
            default -> throw new IllegalArgumentException(type + " has no slimq block mapping");
        };
    }

    /**
     * The method that {@code --method NAME} names: {@code llama.cpp} (empty: ggml's reference rule),
     * {@code rtn}, {@code search}, {@code easyquant} (range-only: no outliers) or {@code hqq}.
     */
    public static Optional<Quantizer> method(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "llama.cpp" -> Optional.empty();
            case "rtn" -> Optional.of(new Rtn());
            case "search" -> Optional.of(new Search());
            case "easyquant" -> Optional.of(new EasyQuant().withOutliers(false));
            case "hqq" -> Optional.of(new Hqq());
            default -> throw new SlimqException(Failure.USAGE, "unknown --method '" + Text.oneLine(name) + "'; use llama.cpp, rtn, search, easyquant or hqq");
        };
    }

    /** Whether {@code type} is one that a slimq method can fill. */
    public static boolean supports(GgmlType type) {
        return type == GgmlType.Q4_0 || type == GgmlType.Q8_0 || type == GgmlType.Q4_1;
    }

    /**
     * Quantizes the row-major {@code [rows, cols]} matrix {@code x} with {@code method} in
     * {@code type}'s scheme and writes the blocks to {@code dst} at {@code at}
     * ({@code type.byteSize(rows·cols)} bytes); {@code cols} is a multiple of 32.
     */
    public static void encode(GgmlType type, Quantizer method, String name, float[] x, int rows, int cols, MemorySegment dst, long at) {
        QuantizedTensor q = method.quantize(name, x, rows, cols, scheme(type));
        write(type, q, x, dst, at);
    }

    /**
     * Writes {@code q} (of {@code type}'s {@link #scheme}, without outliers) as blocks; {@code x} is the
     * original matrix, used by Q4_1 to recompute the codes against the stored {@code d} and {@code m}.
     */
    public static void write(GgmlType type, QuantizedTensor q, float[] x, MemorySegment dst, long at) {
        if (!q.scheme().equals(scheme(type))) {
            throw new IllegalArgumentException(q.name() + ": scheme " + q.scheme() + " does not match " + type);
        }
        if (q.outliers().count() != 0) {
            throw new IllegalArgumentException(q.name() + ": " + type + " blocks cannot hold outliers");
        }
        byte[] codes = q.codes();
        float[] scales = q.scales();
        float[] zeros = q.zeros();
        int blocks = scales.length;
        int[] c = new int[32];
        long size = type.typeSize();
        for (int b = 0; b < blocks; b++) {
            long p = at + b * size;
            int off = 32 * b;
            float d = scales[b];
            switch (type) {
                case Q4_0 -> {
                    GgmlBlocks.putHalf(dst, p, d);
                    for (int j = 0; j < 32; j++) {
                        c[j] = codes[off + j] & 0xFF;
                    }
                    GgmlBlocks.packNibbles(c, 0, dst, p + 2);
                }
                case Q8_0 -> {
                    GgmlBlocks.putHalf(dst, p, d);
                    for (int j = 0; j < 32; j++) {
                        dst.set(ValueLayout.JAVA_BYTE, p + 2 + j, (byte) ((codes[off + j] & 0xFF) - 128));
                    }
                }
                case Q4_1 -> {
                    float m = Float.float16ToFloat(Float.floatToFloat16(-d * zeros[b]));
                    nearestCodes(x, off, d, m, c);
                    GgmlBlocks.putHalf(dst, p, d);
                    GgmlBlocks.putHalf(dst, p + 2, m);
                    GgmlBlocks.packNibbles(c, 0, dst, p + 4);
                }
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
    }

    /**
     * For each of the 32 weights at {@code x[off..]}, the code {@code q ∈ [0, 15]} whose {@code q·d + m}
     * (computed in float, as ggml's dequantizer does) is nearest to it, the lower code on ties.
     */
    static void nearestCodes(float[] x, int off, float d, float m, int[] q) {
        for (int j = 0; j < 32; j++) {
            float v = x[off + j];
            int k = 0;
            if (d != 0) {
                k = (int) Math.max(0, Math.min(15, Math.rint((v - m) / d)));
            }
            int best = k;
            float err = Math.abs(k * d + m - v);
            for (int t = Math.max(0, k - 1); t <= Math.min(15, k + 1); t++) {
                float e = Math.abs(t * d + m - v);
                if (e < err || e == err && t < best) {
                    err = e;
                    best = t;
                }
            }
            q[j] = best;
        }
    }
}
