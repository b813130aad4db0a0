package dev.slimq.convert.gguf;

import dev.slimq.core.tensor.FloatCodec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Encoding and decoding of ggml tensor data, kept apart from the layout data in {@link GgmlType}.
 *
 * <p>The quantizers are ports of ggml's reference functions in {@code src/ggml-quants.c}, which
 * llama.cpp documents as the "reference implementation for deterministic creation of model files";
 * every float operation is done in {@code float} in the same order, so the blocks are byte-identical:
 * <ul>
 * <li>{@code quantize_row_q4_0_ref}: {@code max} is the signed value of largest magnitude (the first
 *     one on ties), {@code d = max / -8}, {@code id = d ? 1/d : 0}, {@code q = MIN(15, (int8_t)(x*id + 8.5f))}
 *     (truncation, so half-up), {@code qs[j] = q[j] | q[j+16] << 4}.</li>
 * <li>{@code quantize_row_q4_1_ref}: {@code d = (max - min) / 15}, {@code m = min},
 *     {@code q = MIN(15, (int8_t)((x - min)*id + 0.5f))}, same nibble order.</li>
 * <li>{@code quantize_row_q8_0_ref}: {@code d = amax / 127}, {@code q = roundf(x*id)} (half away from zero).</li>
 * </ul>
 * Scales are stored as IEEE fp16 ({@code GGML_FP32_TO_FP16}, round to nearest even) but the codes are
 * computed with the unrounded float scale, as in ggml. F16 and BF16 round to nearest even
 * ({@code GGML_FP32_TO_BF16} keeps NaN quiet), as {@link FloatCodec} does.
 */
public final class GgmlBlocks {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private GgmlBlocks() {
    }

    /**
     * Encodes {@code n} floats from {@code src[off..]} as {@code type} into {@code dst} at {@code dstOff};
     * {@code n} must be a multiple of the block size. Writes {@code type.byteSize(n)} bytes.
     */
    public static void encode(GgmlType type, float[] src, int off, int n, MemorySegment dst, long dstOff) {
        if (n % type.blockSize() != 0) {
            throw new IllegalArgumentException(n + " elements is not a multiple of the block size of " + type);
        }
        switch (type) {
            case F32 -> MemorySegment.copy(src, off, dst, F32, dstOff, n);
            case F16 -> {
                for (int k = 0; k < n; k++) {
                    dst.set(I16, dstOff + 2L * k, Float.floatToFloat16(src[off + k]));
                }
            }
            case BF16 -> {
                for (int k = 0; k < n; k++) {
                    dst.set(I16, dstOff + 2L * k, FloatCodec.floatToBf16(src[off + k]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    quantizeQ8_0(src, off + 32 * b, dst, dstOff + 34L * b);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    quantizeQ4_0(src, off + 32 * b, dst, dstOff + 18L * b);
                }
            }
            case Q4_1 -> {
                for (int b = 0; b < n / 32; b++) {
                    quantizeQ4_1(src, off + 32 * b, dst, dstOff + 20L * b);
                }
            }
            default -> throw new IllegalArgumentException("slimq does not write " + type);
        }
    }

    /** One Q8_0 block (ggml {@code quantize_row_q8_0_ref}). */
    static void quantizeQ8_0(float[] x, int off, MemorySegment dst, long at) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        dst.set(I16, at, Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) {
            float v = x[off + j] * id;
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundf(v));
        }
    }

    /** C's {@code roundf}: to nearest, halves away from zero (exact: a float plus 0.5 is exact in double). */
    static int roundf(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) (v < 0 ? -a : a);
    }

    /** One Q4_0 block (ggml {@code quantize_row_q4_0_ref}). */
    static void quantizeQ4_0(float[] x, int off, MemorySegment dst, long at) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        dst.set(I16, at, Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            int q0 = Math.min(15, int8(x[off + j] * id + 8.5f));
            int q1 = Math.min(15, int8(x[off + 16 + j] * id + 8.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (q0 & 0xF | (q1 & 0xF) << 4));
        }
    }

    /** One Q4_1 block (ggml {@code quantize_row_q4_1_ref}). */
    static void quantizeQ4_1(float[] x, int off, MemorySegment dst, long at) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            float v = x[off + j];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
        }
        float d = (max - min) / 15;
        float id = d != 0 ? 1.0f / d : 0.0f;
        dst.set(I16, at, Float.floatToFloat16(d));
        dst.set(I16, at + 2, Float.floatToFloat16(min));
        for (int j = 0; j < 16; j++) {
            int q0 = Math.min(15, int8((x[off + j] - min) * id + 0.5f));
            int q1 = Math.min(15, int8((x[off + 16 + j] - min) * id + 0.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 4 + j, (byte) (q0 & 0xF | (q1 & 0xF) << 4));
        }
    }

    /**
     * The Q4_0/Q4_1 nibble packing of 32 codes {@code q[off..off+32)} (each 0..15) into 16 bytes at
     * {@code at}: byte {@code j} holds code {@code j} in its low nibble and code {@code j + 16} in its
     * high nibble, as the reference quantizers above write them.
     */
    static void packNibbles(int[] q, int off, MemorySegment dst, long at) {
        for (int j = 0; j < 16; j++) {
            dst.set(ValueLayout.JAVA_BYTE, at + j, (byte) (q[off + j] & 0xF | (q[off + 16 + j] & 0xF) << 4));
        }
    }

    /** Stores an fp16 value (already representable) at {@code at}, little-endian. */
    static void putHalf(MemorySegment dst, long at, float v) {
        dst.set(I16, at, Float.floatToFloat16(v));
    }

    /** C's {@code (int8_t)} conversion of a float in range: truncation toward zero. */
    private static int int8(float v) {
        return (byte) (int) v;
    }

    /**
     * Decodes {@code n} elements (a multiple of the block size) starting at element {@code first}
     * (also a block multiple) of data {@code src} of {@code type} into {@code dst[off..]}; ports of
     * ggml's {@code dequantize_row_*}.
     */
    public static void decode(GgmlType type, MemorySegment src, long first, float[] dst, int off, int n) {
        int bs = type.blockSize();
        if (first % bs != 0 || n % bs != 0) {
            throw new IllegalArgumentException("decode range must be whole blocks of " + type);
        }
        long base = first / bs * type.typeSize();
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, base, dst, off, n);
            case F16 -> {
                for (int k = 0; k < n; k++) {
                    dst[off + k] = Float.float16ToFloat(src.get(I16, base + 2L * k));
                }
            }
            case BF16 -> {
                for (int k = 0; k < n; k++) {
                    dst[off + k] = Float.intBitsToFloat(src.get(I16, base + 2L * k) << 16);
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long at = base + 34L * b;
                    float d = half(src, at);
                    for (int j = 0; j < 32; j++) {
                        dst[off + 32 * b + j] = src.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long at = base + 18L * b;
                    float d = half(src, at);
                    for (int j = 0; j < 16; j++) {
                        int q = src.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xFF;
                        dst[off + 32 * b + j] = ((q & 0xF) - 8) * d;
                        dst[off + 32 * b + 16 + j] = ((q >>> 4) - 8) * d;
                    }
                }
            }
            case Q4_1 -> {
                for (int b = 0; b < n / 32; b++) {
                    long at = base + 20L * b;
                    float d = half(src, at);
                    float m = half(src, at + 2);
                    for (int j = 0; j < 16; j++) {
                        int q = src.get(ValueLayout.JAVA_BYTE, at + 4 + j) & 0xFF;
                        dst[off + 32 * b + j] = (q & 0xF) * d + m;
                        dst[off + 32 * b + 16 + j] = (q >>> 4) * d + m;
                    }
                }
            }
            case Q4_K -> {
                for (int b = 0; b < n / 256; b++) {
                    decodeQ4K(src, base + 144L * b, dst, off + 256 * b);
                }
            }
            case Q6_K -> {
                for (int b = 0; b < n / 256; b++) {
                    decodeQ6K(src, base + 210L * b, dst, off + 256 * b);
                }
            }
        }
    }

    private static float half(MemorySegment s, long at) {
        return Float.float16ToFloat(s.get(I16, at));
    }

    private static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    /** ggml {@code dequantize_row_q4_K} with {@code get_scale_min_k4}: {@code half d, dmin; u8 scales[12]; u8 qs[128]}. */
    private static void decodeQ4K(MemorySegment s, long at, float[] y, int yo) {
        float d = half(s, at);
        float dmin = half(s, at + 2);
        long sc = at + 4;
        long q = at + 16;
        int is = 0;
        for (int c = 0; c < 4; c++) {
            int[] a = scaleMin(s, sc, is);
            int[] b = scaleMin(s, sc, is + 1);
            float d1 = d * a[0];
            float m1 = dmin * a[1];
            float d2 = d * b[0];
            float m2 = dmin * b[1];
            for (int l = 0; l < 32; l++) {
                y[yo + 64 * c + l] = d1 * (u8(s, q + 32L * c + l) & 0xF) - m1;
            }
            for (int l = 0; l < 32; l++) {
                y[yo + 64 * c + 32 + l] = d2 * (u8(s, q + 32L * c + l) >>> 4) - m2;
            }
            is += 2;
        }
    }

    private static int[] scaleMin(MemorySegment s, long sc, int j) {
        if (j < 4) {
            return new int[] {u8(s, sc + j) & 63, u8(s, sc + j + 4) & 63};
        }
        int scale = u8(s, sc + j + 4) & 0xF | (u8(s, sc + j - 4) >>> 6) << 4;
        int min = u8(s, sc + j + 4) >>> 4 | (u8(s, sc + j) >>> 6) << 4;
        return new int[] {scale, min};
    }

    /** ggml {@code dequantize_row_q6_K}: {@code u8 ql[128]; u8 qh[64]; int8 scales[16]; half d} (d last). */
    private static void decodeQ6K(MemorySegment s, long at, float[] y, int yo) {
        float d = half(s, at + 208);
        for (int h = 0; h < 2; h++) {
            long ql = at + 64L * h;
            long qh = at + 128 + 32L * h;
            long sc = at + 192 + 8L * h;
            int yb = yo + 128 * h;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = (u8(s, ql + l) & 0xF | (u8(s, qh + l) & 3) << 4) - 32;
                int q2 = (u8(s, ql + l + 32) & 0xF | (u8(s, qh + l) >> 2 & 3) << 4) - 32;
                int q3 = (u8(s, ql + l) >>> 4 | (u8(s, qh + l) >> 4 & 3) << 4) - 32;
                int q4 = (u8(s, ql + l + 32) >>> 4 | (u8(s, qh + l) >> 6 & 3) << 4) - 32;
                y[yb + l] = d * s.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                y[yb + l + 32] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                y[yb + l + 64] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                y[yb + l + 96] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
            }
        }
    }
}
