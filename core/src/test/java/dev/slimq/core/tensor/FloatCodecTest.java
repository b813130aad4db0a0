package dev.slimq.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FloatCodecTest {
    private static final List<DType> TABLE_TYPES = List.of(DType.F8_E4M3, DType.F8_E5M2, DType.F8_E4M3FNUZ,
            DType.F8_E5M2FNUZ, DType.F8_E8M0, DType.F4, DType.F6_E2M3, DType.F6_E3M2);

    /** Decodes one raw code of a table type through the public element path. */
    private static float decodeCode(DType d, int code) {
        // Element 0 sits in the low bits of byte 0 for every packing (F4 low nibble, F6 bits [0, 6)).
        MemorySegment seg = MemorySegment.ofArray(new byte[4]);
        seg.set(ValueLayout.JAVA_BYTE, 0, (byte) code);
        return FloatCodec.decodeFloat(d, seg, 0);
    }

    private static float decode16(DType d, int code) {
        MemorySegment seg = MemorySegment.ofArray(new byte[2]);
        seg.set(FloatCodec.I16, 0, (short) code);
        return FloatCodec.decodeFloat(d, seg, 0);
    }

    private static boolean same(float a, float b) {
        return Float.floatToIntBits(a) == Float.floatToIntBits(b) // NaN == NaN, and
                && (a != 0 || Float.floatToRawIntBits(a) == Float.floatToRawIntBits(b)); // -0 != +0
    }

    // ---------------------------------------------------------------- round trips over every code

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2"})
    void tableTypesRoundTripEveryCode(DType d) {
        int codes = 1 << d.bits();
        int nan = 0;
        for (int c = 0; c < codes; c++) {
            float v = decodeCode(d, c);
            if (Float.isNaN(v)) {
                nan++;
                int back = FloatCodec.encodeMini(d, v);
                assertTrue(Float.isNaN(decodeCode(d, back)), d + " NaN code " + c + " encodes to non-NaN " + back);
                continue;
            }
            int back = FloatCodec.encodeMini(d, v);
            assertTrue(same(v, decodeCode(d, back)), d + " code " + c + " = " + v + " came back as code " + back);
            assertEquals(c, back, d + " value " + v + " has exactly one code");
        }
        int expectedNan = switch (d) {
            case F8_E4M3 -> 2;
            case F8_E5M2 -> 6;
            case F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0 -> 1;
            default -> 0;
        };
        assertEquals(expectedNan, nan, d + " NaN codes");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F8_E8M0"})
    void bulkEncodeAndDecodeAgreeWithTheElementPaths(DType d) {
        float[] values = new float[256];
        for (int c = 0; c < 256; c++) {
            values[c] = decodeCode(d, c);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(256 + 3);
            FloatCodec.encode(d, values, 0, 256, seg, 3); // odd byte offset
            float[] back = new float[256];
            FloatCodec.decode(d, seg.asSlice(3), 0, back, 0, 256);
            for (int c = 0; c < 256; c++) {
                assertTrue(same(values[c], back[c]) || Float.isNaN(values[c]) && Float.isNaN(back[c]), d + " code " + c);
                assertEquals(FloatCodec.encodeMini(d, values[c]), seg.get(ValueLayout.JAVA_BYTE, 3 + c) & 0xFF);
            }
        }
    }

    @Test
    void f16RoundTripsEveryCode() {
        for (int c = 0; c < 1 << 16; c++) {
            float v = decode16(DType.F16, c);
            assertEquals(v, Float.float16ToFloat((short) c));
            if (Float.isNaN(v)) {
                continue;
            }
            MemorySegment seg = MemorySegment.ofArray(new byte[2]);
            FloatCodec.encode(DType.F16, new float[] {v}, 0, 1, seg, 0);
            assertEquals((short) c, seg.get(FloatCodec.I16, 0), "F16 code " + c);
        }
    }

    @Test
    void bf16RoundTripsEveryCode() {
        for (int c = 0; c < 1 << 16; c++) {
            float v = decode16(DType.BF16, c);
            assertEquals(c << 16, Float.floatToRawIntBits(v), "BF16 decode widens by appending zero bits");
            short back = FloatCodec.floatToBf16(v);
            if (Float.isNaN(v)) {
                assertTrue(Float.isNaN(decode16(DType.BF16, back)), "BF16 NaN code " + c);
            } else {
                assertEquals((short) c, back, "BF16 code " + c);
            }
        }
    }

    @Test
    void f32AndF64RoundTripExactly() {
        SplittableRandom rnd = new SplittableRandom(20240611L);
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = Float.intBitsToFloat(rnd.nextInt());
        }
        values[0] = -0.0f;
        values[1] = Float.MIN_VALUE;
        values[2] = Float.NEGATIVE_INFINITY;
        for (DType d : List.of(DType.F32, DType.F64)) {
            MemorySegment seg = MemorySegment.ofArray(new byte[values.length * d.byteSize() + 1]);
            FloatCodec.encode(d, values, 0, values.length, seg, 1);
            float[] back = new float[values.length];
            FloatCodec.decode(d, seg.asSlice(1), 0, back, 0, values.length);
            for (int i = 0; i < values.length; i++) {
                assertTrue(same(values[i], back[i]) || Float.isNaN(values[i]) && Float.isNaN(back[i]), d + " " + values[i]);
                assertEquals((double) back[i], FloatCodec.decodeDouble(d, seg.asSlice(1), i), 0.0);
            }
        }
    }

    // ---------------------------------------------------------------- BF16 rounding

    @Test
    void bf16RoundsToNearestEven() {
        int[][] cases = {
            // float bits, expected bf16
            {0x3F808000, 0x3F80}, // tie, 0x3F80 is even: down
            {0x3F818000, 0x3F82}, // tie, 0x3F81 is odd: up
            {0x3F808001, 0x3F81}, // just above the tie
            {0x3F807FFF, 0x3F80}, // just below the tie
            {0xBF818000, 0xBF82}, // negative tie, away from the odd code
            {0xBF808000, 0xBF80},
            {0x00008000, 0x0000}, // subnormal tie to zero
            {0x00018000, 0x0002}, // subnormal tie up to even
            {0x7F7F7FFF, 0x7F7F}, // largest that stays finite
            {0x7F7F8000, 0x7F80}, // tie between max (odd) and infinity (even): overflows
            {0x7F7FFFFF, 0x7F80}, // Float.MAX_VALUE overflows
            {0xFF7FFFFF, 0xFF80},
            {0x7F800000, 0x7F80}, // infinity stays infinity
            {0x80000000, 0x8000}, // -0 keeps its sign
        };
        for (int[] c : cases) {
            assertEquals((short) c[1], FloatCodec.floatToBf16(Float.intBitsToFloat(c[0])),
                    () -> "bf16(0x" + Integer.toHexString(c[0]) + ")");
        }
        // A NaN whose payload is only in the low bits must not truncate into infinity.
        short nan = FloatCodec.floatToBf16(Float.intBitsToFloat(0x7F800001));
        assertTrue(Float.isNaN(Float.intBitsToFloat(nan << 16)), Integer.toHexString(nan));
        short negNan = FloatCodec.floatToBf16(Float.intBitsToFloat(0xFF800001));
        assertTrue(Float.isNaN(Float.intBitsToFloat(negNan << 16)), Integer.toHexString(negNan));
    }

    @Test
    void bf16MatchesAnExactReferenceOnSeededValues() {
        SplittableRandom rnd = new SplittableRandom(7L);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isNaN(f)) {
                continue;
            }
            assertEquals(referenceBf16(f), FloatCodec.floatToBf16(f), () -> "bf16(" + f + ")");
        }
    }

    /** Nearest BF16 by exhaustive comparison of the two neighbours, ties to even, in double arithmetic. */
    private static short referenceBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int lo = bits >>> 16;
        int hi = lo + 1;
        double dlo = Float.intBitsToFloat(lo << 16);
        double dhi = (hi & 0x7FFF) >= 0x7F80 && (lo & 0x7FFF) == 0x7F7F
                ? Math.copySign(0x1p128, f) // rounding past the largest finite value reaches "2^128": infinity
                : Float.intBitsToFloat(hi << 16);
        double a = Math.abs((double) f - dlo);
        double b = Math.abs((double) f - dhi);
        int pick = a < b ? lo : b < a ? hi : (lo & 1) == 0 ? lo : hi;
        return (short) pick;
    }

    // ---------------------------------------------------------------- encodeMini: rounding, saturation, specials

    @Test
    void e4m3RoundsTiesToEvenAndSaturates() {
        DType d = DType.F8_E4M3;
        assertEquals(0x38, FloatCodec.encodeMini(d, 1.0625f)); // tie between 1.0 (0x38) and 1.125 (0x39)
        assertEquals(0x3A, FloatCodec.encodeMini(d, 1.1875f)); // tie between 1.125 (0x39) and 1.25 (0x3A)
        assertEquals(0x39, FloatCodec.encodeMini(d, 1.07f));
        assertEquals(0x7E, FloatCodec.encodeMini(d, 448f));
        assertEquals(0x7E, FloatCodec.encodeMini(d, 464f)); // would be the tie to 480: no such value, saturate
        assertEquals(0x7E, FloatCodec.encodeMini(d, 1e30f));
        assertEquals(0x7E, FloatCodec.encodeMini(d, Float.POSITIVE_INFINITY), "OCP satfinite: no infinity in E4M3");
        assertEquals(0xFE, FloatCodec.encodeMini(d, Float.NEGATIVE_INFINITY));
        assertEquals(0xFE, FloatCodec.encodeMini(d, -500f));
        assertTrue(Float.isNaN(decodeCode(d, FloatCodec.encodeMini(d, Float.NaN))));
        assertEquals(0x00, FloatCodec.encodeMini(d, 0x1p-10f)); // half the smallest subnormal: tie to zero
        assertEquals(0x01, FloatCodec.encodeMini(d, 0x1.01p-10f));
        assertEquals(0x02, FloatCodec.encodeMini(d, 0x3p-10f)); // tie between codes 1 and 2
        assertEquals(0x80, FloatCodec.encodeMini(d, -0x1p-12f), "a tiny negative keeps its sign as -0");
        assertEquals(0x80, FloatCodec.encodeMini(d, -0.0f));
    }

    @Test
    void e5m2OverflowsToInfinityLikeIeee() {
        DType d = DType.F8_E5M2;
        assertEquals(0x7B, FloatCodec.encodeMini(d, 57344f));
        assertEquals(0x7B, FloatCodec.encodeMini(d, 61439f)); // below max + half an ulp
        assertEquals(0x7C, FloatCodec.encodeMini(d, 61440f)); // the tie goes to the even code: infinity
        assertEquals(0x7C, FloatCodec.encodeMini(d, 1e9f));
        assertEquals(0xFC, FloatCodec.encodeMini(d, -1e9f));
        assertEquals(0x7C, FloatCodec.encodeMini(d, Float.POSITIVE_INFINITY));
        assertEquals(0xFC, FloatCodec.encodeMini(d, Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(decodeCode(d, FloatCodec.encodeMini(d, Float.NaN))));
        assertEquals(0x3C, FloatCodec.encodeMini(d, 1.125f)); // tie between 1.0 (0x3C) and 1.25 (0x3D)
        assertEquals(0x3E, FloatCodec.encodeMini(d, 1.375f)); // tie between 1.25 (0x3D) and 1.5 (0x3E)
    }

    @Test
    void fnuzTypesSaturateAndHaveNoNegativeZero() {
        for (DType d : List.of(DType.F8_E4M3FNUZ, DType.F8_E5M2FNUZ)) {
            float max = decodeCode(d, 0x7F);
            assertEquals(0x7F, FloatCodec.encodeMini(d, max));
            assertEquals(0x7F, FloatCodec.encodeMini(d, max * 4), d + " saturates");
            assertEquals(0x7F, FloatCodec.encodeMini(d, Float.POSITIVE_INFINITY), d + " saturates infinity");
            assertEquals(0xFF, FloatCodec.encodeMini(d, Float.NEGATIVE_INFINITY));
            assertEquals(0x80, FloatCodec.encodeMini(d, Float.NaN), d + " NaN is 0x80");
            assertEquals(0x00, FloatCodec.encodeMini(d, -0.0f), d + " has no -0");
            assertEquals(0x00, FloatCodec.encodeMini(d, -Float.MIN_VALUE), d + ": a negative rounding to zero is +0");
        }
        assertEquals(240f, decodeCode(DType.F8_E4M3FNUZ, 0x7F));
        assertEquals(57344f, decodeCode(DType.F8_E5M2FNUZ, 0x7F));
    }

    @Test
    void e8m0EncodesMagnitudesAndSaturates() {
        DType d = DType.F8_E8M0;
        assertEquals(0x7F, FloatCodec.encodeMini(d, 1.0f));
        assertEquals(0x80, FloatCodec.encodeMini(d, 3.0f)); // tie between 2 (0x80, even) and 4 (0x81)
        assertEquals(0x81, FloatCodec.encodeMini(d, 3.5f));
        assertEquals(0x81, FloatCodec.encodeMini(d, -4.0f), "no sign: the magnitude is encoded");
        assertEquals(0x00, FloatCodec.encodeMini(d, 0.0f), "no zero: the smallest code, 2^-127");
        assertEquals(0x00, FloatCodec.encodeMini(d, Float.MIN_VALUE));
        assertEquals(0xFE, FloatCodec.encodeMini(d, Float.MAX_VALUE));
        assertEquals(0xFE, FloatCodec.encodeMini(d, Float.POSITIVE_INFINITY));
        assertEquals(0xFF, FloatCodec.encodeMini(d, Float.NaN));
    }

    @Test
    void microFloatsSaturateAndRejectNaN() {
        assertEquals(0x7, FloatCodec.encodeMini(DType.F4, 6f));
        assertEquals(0x7, FloatCodec.encodeMini(DType.F4, 7f));
        assertEquals(0x7, FloatCodec.encodeMini(DType.F4, 1e10f));
        assertEquals(0x7, FloatCodec.encodeMini(DType.F4, Float.POSITIVE_INFINITY));
        assertEquals(0xF, FloatCodec.encodeMini(DType.F4, -100f));
        assertEquals(0x6, FloatCodec.encodeMini(DType.F4, 5f));    // tie between 4 (code 6) and 6 (code 7)
        assertEquals(0x4, FloatCodec.encodeMini(DType.F4, 2.5f));  // tie between 2 (code 4) and 3 (code 5)
        assertEquals(0x0, FloatCodec.encodeMini(DType.F4, 0.25f)); // tie between 0 and 0.5
        assertEquals(0x8, FloatCodec.encodeMini(DType.F4, -0.0f));
        assertEquals(0x1F, FloatCodec.encodeMini(DType.F6_E2M3, 8f));
        assertEquals(0x3F, FloatCodec.encodeMini(DType.F6_E2M3, -8f));
        assertEquals(0x1F, FloatCodec.encodeMini(DType.F6_E3M2, 100f));
        for (DType d : List.of(DType.F4, DType.F6_E2M3, DType.F6_E3M2)) {
            assertThrows(IllegalArgumentException.class, () -> FloatCodec.encodeMini(d, Float.NaN), d + " has no NaN");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F4", "F6_E2M3", "F6_E3M2"})
    void encodeMiniIsTheNearestValueOnSeededInputs(DType d) {
        // Against a brute-force reference: the nearest finite code (ties to the even code) within range.
        int codes = 1 << d.bits();
        SplittableRandom rnd = new SplittableRandom(99L + d.ordinal());
        float max = 0;
        for (int c = 0; c < codes; c++) {
            float v = decodeCode(d, c);
            if (Float.isFinite(v)) {
                max = Math.max(max, v);
            }
        }
        for (int i = 0; i < 20_000; i++) {
            float f = (float) ((rnd.nextDouble() * 2 - 1) * max * 1.02);
            int got = FloatCodec.encodeMini(d, f);
            float gv = decodeCode(d, got);
            assertFalse(Float.isNaN(gv), d + " " + f);
            if (Math.abs(f) > max) {
                continue; // saturation and overflow are covered above
            }
            double best = Double.MAX_VALUE;
            for (int c = 0; c < codes; c++) {
                float v = decodeCode(d, c);
                if (Float.isFinite(v)) {
                    best = Math.min(best, Math.abs((double) v - f));
                }
            }
            assertEquals(best, Math.abs((double) gv - f), 0.0, d + " " + f + " encoded as " + gv);
            if (gv != 0) {
                assertEquals(Math.signum(f), Math.signum(gv), d + " " + f);
            }
        }
    }

    // ---------------------------------------------------------------- misc

    @Test
    void nonFloatTypesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> FloatCodec.encodeMini(DType.F16, 1f));
        assertThrows(IllegalArgumentException.class, () -> FloatCodec.encodeMini(DType.I8, 1f));
        assertThrows(IllegalArgumentException.class,
                () -> FloatCodec.encode(DType.I32, new float[1], 0, 1, MemorySegment.ofArray(new byte[4]), 0));
        assertThrows(IllegalArgumentException.class,
                () -> FloatCodec.encode(DType.F4, new float[2], 0, 2, MemorySegment.ofArray(new byte[1]), 0));
        assertThrows(IllegalArgumentException.class,
                () -> FloatCodec.decode(DType.C64, MemorySegment.ofArray(new byte[8]), 0, new float[1], 0, 1));
        assertFalse(FloatCodec.isDecodable(DType.C64));
        for (DType d : DType.values()) {
            assertEquals(d != DType.C64, FloatCodec.isDecodable(d), d.wireName());
            assertEquals(d.isFloat() && !d.isSubByte(), FloatCodec.isEncodable(d), d.wireName());
        }
    }

    @Test
    void unsignedConversionsRoundOnce() {
        SplittableRandom rnd = new SplittableRandom(64L);
        long[] edges = {0, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + (1L << 10), Long.MIN_VALUE + (1L << 10) + 1,
            Long.MIN_VALUE + (1L << 39), Long.MIN_VALUE + (1L << 39) + 1, -(1L << 11), -(1L << 11) - 1};
        for (int i = 0; i < 100_000 + edges.length; i++) {
            long v = i < edges.length ? edges[i] : rnd.nextLong();
            BigInteger exact = new BigInteger(Long.toUnsignedString(v));
            assertEquals(exact.doubleValue(), FloatCodec.unsignedToDouble(v), () -> "u64 " + exact);
            assertEquals(exact.floatValue(), FloatCodec.unsignedToFloat(v), () -> "u64 " + exact + " as float");
        }
    }

    @Test
    void dtypeFacts() {
        for (DType d : DType.values()) {
            assertEquals(d, DType.fromWireName(d.wireName()).orElseThrow());
            assertEquals(d.name(), d.wireName(), "wire names are the reference's enum names");
            assertEquals(d.isSubByte(), d.bits() % 8 != 0);
            if (d.isSubByte()) {
                assertThrows(IllegalStateException.class, d::byteSize);
            } else {
                assertEquals(d.bits() / 8, d.byteSize());
            }
        }
        assertTrue(DType.fromWireName("f32").isEmpty());
        assertTrue(DType.fromWireName("F8_E4M3FN").isEmpty());
        // The reference's declaration order (increasing alignment), which the writer's order depends on.
        assertEquals(List.of(DType.BOOL, DType.F4, DType.F6_E2M3, DType.F6_E3M2, DType.U8, DType.I8, DType.F8_E5M2,
                DType.F8_E4M3, DType.F8_E8M0, DType.F8_E4M3FNUZ, DType.F8_E5M2FNUZ, DType.I16, DType.U16, DType.F16,
                DType.BF16, DType.I32, DType.U32, DType.F32, DType.C64, DType.F64, DType.I64, DType.U64),
                List.of(DType.values()));
        for (int i = 1; i < DType.values().length; i++) {
            assertTrue(DType.values()[i].alignmentRank() > DType.values()[i - 1].alignmentRank());
        }
    }

    @Test
    void tensorInfoSizes() {
        assertEquals(1, TensorInfo.elementCount(new long[0]));
        assertEquals(0, TensorInfo.elementCount(new long[] {3, 0, 5}));
        assertEquals(3, TensorInfo.byteSize(DType.F6_E2M3, new long[] {4}));
        assertEquals(1, TensorInfo.byteSize(DType.F4, new long[] {2}));
        assertThrows(IllegalArgumentException.class, () -> TensorInfo.byteSize(DType.F4, new long[] {3}));
        assertThrows(IllegalArgumentException.class, () -> TensorInfo.elementCount(new long[] {-1}));
        assertThrows(ArithmeticException.class, () -> TensorInfo.byteSize(DType.F32, new long[] {1L << 61}));
        long[] shape = {2, 3};
        TensorInfo t = TensorInfo.planned("w", DType.BF16, shape);
        shape[0] = 99;
        assertEquals(2, t.dim(0), "the record copies its shape");
        t.shape()[1] = 99;
        assertEquals(3, t.dim(1), "and hands out copies");
        assertEquals(12, t.byteCount());
        assertEquals(new TensorInfo("w", DType.BF16, new long[] {2, 3}, 0, 12), t);
        assertEquals(t.hashCode(), new TensorInfo("w", DType.BF16, new long[] {2, 3}, 0, 12).hashCode());
    }
}
