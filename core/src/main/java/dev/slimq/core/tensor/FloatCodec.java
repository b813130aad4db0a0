package dev.slimq.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Exact conversion between the element encodings of safetensors and Java numbers.
 *
 * <p>Decoding is exact for every real dtype: each encoding with at most 8 bits is read through a
 * 256-entry table built from its definition; F16, BF16 and F32 widen exactly to {@code float}, F64 and
 * the integers are available through {@link #decodeDouble} (exactly, except that 64-bit integers
 * beyond 2^53 round once to the nearest double, as a double must). Encoding rounds to nearest, ties to even, for every float dtype.
 *
 * <p>Packing of the sub-byte types follows the little-endian bit order used by PyTorch and the OCP MX
 * specification: F4 element {@code i} is the low nibble of byte {@code i/2} when {@code i} is even and
 * the high nibble when odd; F6 elements occupy bits {@code [6k, 6k+6)} of each little-endian 24-bit word
 * holding four elements.
 */
public final class FloatCodec {
    private FloatCodec() {
    }

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // Tables for every encoding of 8 bits or fewer (indexed by the raw code).
    private static final float[] E4M3 = miniFloatTable(4, 3, 7, Special.FN);
    private static final float[] E5M2 = miniFloatTable(5, 2, 15, Special.IEEE);
    private static final float[] E4M3FNUZ = miniFloatTable(4, 3, 8, Special.FNUZ);
    private static final float[] E5M2FNUZ = miniFloatTable(5, 2, 16, Special.FNUZ);
    private static final float[] E2M1 = miniFloatTable(2, 1, 1, Special.NONE);
    private static final float[] E2M3 = miniFloatTable(2, 3, 1, Special.NONE);
    private static final float[] E3M2 = miniFloatTable(3, 2, 3, Special.NONE);
    private static final float[] E8M0 = e8m0Table();

    /** How an encoding spends its top codes on non-finite values. */
    private enum Special {
        /** IEEE: all-ones exponent is infinity (mantissa 0) or NaN. */
        IEEE,
        /** OCP "fn": no infinities; only all-ones exponent and mantissa is NaN. */
        FN,
        /** "fnuz": no infinities, no negative zero; the code 1000...0 is the only NaN. */
        FNUZ,
        /** Every code is finite (MX micro-floats). */
        NONE
    }

    private static float[] miniFloatTable(int expBits, int manBits, int bias, Special special) {
        int total = 1 + expBits + manBits;
        float[] t = new float[1 << total];
        int expMax = (1 << expBits) - 1;
        int manMax = (1 << manBits) - 1;
        for (int code = 0; code < t.length; code++) {
            boolean negative = (code >> (expBits + manBits) & 1) != 0;
            int e = code >> manBits & expMax;
            int m = code & manMax;
            double v;
            if (special == Special.IEEE && e == expMax) {
                v = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            } else if (special == Special.FN && e == expMax && m == manMax) {
                v = Double.NaN;
            } else if (special == Special.FNUZ && negative && e == 0 && m == 0) {
                v = Double.NaN;
                negative = false;
            } else if (e == 0) {
                v = Math.scalb((double) m / (1 << manBits), 1 - bias);
            } else {
                v = Math.scalb(1.0 + (double) m / (1 << manBits), e - bias);
            }
            t[code] = (float) (negative ? -v : v);
        }
        return t;
    }

    private static float[] e8m0Table() {
        float[] t = new float[256];
        for (int code = 0; code < 256; code++) {
            // 2^-127 is below Float.MIN_NORMAL but representable as a subnormal float: exact.
            t[code] = code == 255 ? Float.NaN : (float) Math.scalb(1.0, code - 127);
        }
        return t;
    }

    private static float[] table(DType dtype) {
        return switch (dtype) {
            case F8_E4M3 -> E4M3;
            case F8_E5M2 -> E5M2;
            case F8_E4M3FNUZ -> E4M3FNUZ;
            case F8_E5M2FNUZ -> E5M2FNUZ;
            case F8_E8M0 -> E8M0;
            case F4 -> E2M1;
            case F6_E2M3 -> E2M3;
            case F6_E3M2 -> E3M2;
            default -> null;
        };
    }

    /** True when {@link #decode} can turn this dtype's elements into floats (every type but C64). */
    public static boolean isDecodable(DType dtype) {
        return dtype != DType.C64;
    }

    /** The raw code of a sub-byte element (F4 or F6) at element index {@code i}. */
    static int subByteCode(MemorySegment seg, DType dtype, long i) {
        if (dtype.bits() == 4) {
            int b = seg.get(ValueLayout.JAVA_BYTE, i >>> 1) & 0xFF;
            return (i & 1) == 0 ? b & 0xF : b >>> 4;
        }
        long word = i >>> 2;
        long base = word * 3;
        int w = (seg.get(ValueLayout.JAVA_BYTE, base) & 0xFF)
                | (seg.get(ValueLayout.JAVA_BYTE, base + 1) & 0xFF) << 8
                | (seg.get(ValueLayout.JAVA_BYTE, base + 2) & 0xFF) << 16;
        return w >>> (6 * (int) (i & 3)) & 0x3F;
    }

    /** Element {@code i} of a tensor's data as an exact double (U64 beyond 2^53 rounds). */
    public static double decodeDouble(DType dtype, MemorySegment seg, long i) {
        return switch (dtype) {
            case F64 -> seg.get(F64, i * 8);
            case I64 -> seg.get(I64, i * 8);
            case U64 -> unsignedToDouble(seg.get(I64, i * 8));
            case I32 -> seg.get(I32, i * 4);
            case U32 -> Integer.toUnsignedLong(seg.get(I32, i * 4));
            case I16 -> seg.get(I16, i * 2);
            case U16 -> Short.toUnsignedInt(seg.get(I16, i * 2));
            case I8 -> seg.get(ValueLayout.JAVA_BYTE, i);
            case U8, BOOL -> seg.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            case C64 -> throw new IllegalArgumentException("C64 elements are complex, not real numbers");
            default -> decodeFloat(dtype, seg, i);
        };
    }

    /**
     * The unsigned 64-bit value {@code v} rounded once to the nearest double. Halving keeps the
     * dropped low bit as a sticky bit ({@code (v >>> 1) | (v & 1)}), so the one rounding of the
     * halved value is the rounding of {@code v}; adding the bit back after rounding would round twice.
     */
    static double unsignedToDouble(long v) {
        return v >= 0 ? v : (double) (v >>> 1 | v & 1) * 2.0;
    }

    /** The unsigned 64-bit value {@code v} rounded once to the nearest float (see {@link #unsignedToDouble}). */
    static float unsignedToFloat(long v) {
        return v >= 0 ? v : (float) (v >>> 1 | v & 1) * 2.0f;
    }

    /**
     * Element {@code i} as a float: exact for every float dtype except F64, and for integers up to
     * 2^24; F64, I64, U64 and larger 32-bit integers round once to the nearest float.
     */
    public static float decodeFloat(DType dtype, MemorySegment seg, long i) {
        return switch (dtype) {
            case F32 -> seg.get(F32, i * 4);
            // Straight to float: going through double would round twice.
            case I64 -> (float) seg.get(I64, i * 8);
            case U64 -> unsignedToFloat(seg.get(I64, i * 8));
            case F16 -> Float.float16ToFloat(seg.get(I16, i * 2));
            case BF16 -> Float.intBitsToFloat(seg.get(I16, i * 2) << 16);
            case F64 -> (float) seg.get(F64, i * 8);
            case F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0 ->
                    table(dtype)[seg.get(ValueLayout.JAVA_BYTE, i) & 0xFF];
            case F4, F6_E2M3, F6_E3M2 -> table(dtype)[subByteCode(seg, dtype, i)];
            default -> (float) decodeDouble(dtype, seg, i);
        };
    }

    /**
     * Decodes {@code len} elements starting at element {@code first} into {@code dst[off..off+len)}.
     * The bulk paths for F32, F16 and BF16 are the hot ones (every weight read goes through them).
     */
    public static void decode(DType dtype, MemorySegment seg, long first, float[] dst, int off, int len) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(seg, F32, first * 4, dst, off, len);
            case BF16 -> {
                MemorySegment s = seg.asSlice(first * 2, (long) len * 2);
                for (int k = 0; k < len; k++) {
                    dst[off + k] = Float.intBitsToFloat(s.getAtIndex(I16, k) << 16);
                }
            }
            case F16 -> {
                MemorySegment s = seg.asSlice(first * 2, (long) len * 2);
                for (int k = 0; k < len; k++) {
                    dst[off + k] = Float.float16ToFloat(s.getAtIndex(I16, k));
                }
            }
            case F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0 -> {
                float[] t = table(dtype);
                for (int k = 0; k < len; k++) {
                    dst[off + k] = t[seg.get(ValueLayout.JAVA_BYTE, first + k) & 0xFF];
                }
            }
            case C64 -> throw new IllegalArgumentException("C64 elements are complex, not real numbers");
            default -> {
                for (int k = 0; k < len; k++) {
                    dst[off + k] = decodeFloat(dtype, seg, first + k);
                }
            }
        }
    }

    /** BF16 bits of {@code f}, rounded to nearest even; NaN stays a (quiet) NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) (bits >>> 16 | 0x0040);
        }
        int lsb = bits >>> 16 & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /**
     * The code of the nearest value in a table-defined encoding (8 bits or fewer), ties to the even
     * code (even mantissa). Magnitudes beyond the largest finite value become infinity in E5M2 (the
     * only one with infinities) and saturate to the largest finite value elsewhere, as the OCP
     * "satfinite" conversion does; NaN becomes the encoding's NaN and is rejected by the MX types,
     * which have none. F8_E8M0 has neither sign nor zero: it encodes the magnitude, and magnitudes at
     * or below 2^-127 (zero included) become its smallest code, 2^-127. The FNUZ types have no
     * negative zero, so negative values that round to zero become +0.
     */
    public static int encodeMini(DType dtype, float f) {
        float[] t = table(dtype);
        if (t == null) {
            throw new IllegalArgumentException(dtype.wireName() + " is not a table-defined encoding");
        }
        int signMask = dtype == DType.F8_E8M0 ? 0 : 1 << (dtype.bits() - 1);
        if (Float.isNaN(f)) {
            for (int c = 0; c < t.length; c++) {
                if (Float.isNaN(t[c])) {
                    return c;
                }
            }
            throw new IllegalArgumentException("NaN cannot be encoded as " + dtype.wireName());
        }
        boolean negative = (Float.floatToRawIntBits(f) >>> 31) != 0;
        float a = Math.abs(f);
        // Positive codes are 0 .. signMask-1 (all codes for E8M0), increasing in value for finite ones.
        int positiveCodes = signMask == 0 ? t.length : signMask;
        int maxCode = -1;
        int infCode = -1;
        for (int c = 0; c < positiveCodes; c++) {
            if (Float.isInfinite(t[c])) {
                infCode = c;
            } else if (!Float.isNaN(t[c]) && (maxCode < 0 || t[c] > t[maxCode])) {
                maxCode = c;
            }
        }
        int best = -1;
        if (a > t[maxCode]) {
            // Past the largest finite value: IEEE rounding overflows at max + half an ulp (a tie goes
            // to the even code, which is infinity); encodings without infinity saturate.
            float halfUlp = (t[maxCode] - t[maxCode - 1]) / 2;
            best = infCode >= 0 && a >= t[maxCode] + halfUlp ? infCode : maxCode;
        } else {
            for (int c = 0; c < positiveCodes; c++) {
                float v = t[c];
                if (!Float.isFinite(v)) {
                    continue;
                }
                if (best < 0) {
                    best = c;
                    continue;
                }
                double d = Math.abs((double) v - a);
                double bd = Math.abs((double) t[best] - a);
                if (d < bd || d == bd && (c & 1) == 0 && (best & 1) == 1) {
                    best = c;
                }
            }
        }
        if (negative && signMask != 0) {
            int neg = best | signMask;
            // FNUZ types have no negative zero: their 0x80 is NaN, so -0 stays +0.
            if (!Float.isNaN(t[neg])) {
                return neg;
            }
        }
        return best;
    }

    /** True for the dtypes {@link #encode} accepts: the byte-aligned float types. */
    public static boolean isEncodable(DType dtype) {
        return switch (dtype) {
            case F32, F64, F16, BF16, F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0 -> true;
            default -> false;
        };
    }

    /**
     * Encodes {@code len} floats into {@code dst} at byte offset {@code byteOff} in {@code dtype}
     * (any byte-aligned float type).
     */
    public static void encode(DType dtype, float[] src, int off, int len, MemorySegment dst, long byteOff) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, off, dst, F32, byteOff, len);
            case F64 -> {
                for (int k = 0; k < len; k++) {
                    dst.set(F64, byteOff + 8L * k, src[off + k]);
                }
            }
            case F16 -> {
                for (int k = 0; k < len; k++) {
                    dst.set(I16, byteOff + 2L * k, Float.floatToFloat16(src[off + k]));
                }
            }
            case BF16 -> {
                for (int k = 0; k < len; k++) {
                    dst.set(I16, byteOff + 2L * k, floatToBf16(src[off + k]));
                }
            }
            case F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0 -> {
                for (int k = 0; k < len; k++) {
                    dst.set(ValueLayout.JAVA_BYTE, byteOff + k, (byte) encodeMini(dtype, src[off + k]));
                }
            }
            default -> throw new IllegalArgumentException("cannot encode floats as " + dtype.wireName());
        }
    }
}
