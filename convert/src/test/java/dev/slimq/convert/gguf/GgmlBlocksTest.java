package dev.slimq.convert.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Blocks computed by hand from ggml's reference rules (ggml-quants.c), byte for byte. */
class GgmlBlocksTest {
    private static byte[] encode(GgmlType t, float[] x) {
        byte[] b = new byte[(int) t.byteSize(x.length)];
        GgmlBlocks.encode(t, x, 0, x.length, MemorySegment.ofArray(b), 0);
        return b;
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @Test
    void layoutData() {
        assertEquals(18, GgmlType.Q4_0.byteSize(32));
        assertEquals(20, GgmlType.Q4_1.byteSize(32));
        assertEquals(34 * 4, GgmlType.Q8_0.byteSize(128));
        assertEquals(2, GgmlType.Q4_0.id());
        assertEquals(30, GgmlType.BF16.id());
        assertEquals(8, GgmlType.Q8_0.id());
    }

    @Test
    void q8_0RoundsHalvesAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127; // amax 127: d = 1, id = 1
        x[1] = 0.5f;
        x[2] = -0.5f;
        x[3] = 2.5f;
        x[4] = -2.5f;
        x[5] = -127;
        byte[] expected = new byte[34];
        expected[0] = 0x00;
        expected[1] = 0x3C; // fp16 1.0
        System.arraycopy(bytes(127, 1, -1, 3, -3, -127), 0, expected, 2, 6);
        assertArrayEquals(expected, encode(GgmlType.Q8_0, x));
    }

    @Test
    void q4_0UsesSignedMaxAndHalfUp() {
        float[] x = new float[32];
        x[0] = -8; // signed max -8: d = 1
        x[1] = 7;
        x[2] = 0.5f; // 9.0 -> 9 (half up; half-even would give 8)
        x[3] = -0.5f; // 8.0 -> 8
        x[4] = 1.5f;
        x[5] = -1.5f;
        x[16] = 3;
        x[17] = -3;
        byte[] expected = new byte[18];
        expected[1] = 0x3C;
        byte[] qs = bytes(0xB0, 0x5F, 0x89, 0x88, 0x8A, 0x87, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88);
        System.arraycopy(qs, 0, expected, 2, 16);
        assertArrayEquals(expected, encode(GgmlType.Q4_0, x));
    }

    @Test
    void q4_0PositiveMaxGivesNegativeScale() {
        float[] x = new float[32];
        x[0] = 8; // d = 8 / -8 = -1: code 0 means +8
        x[1] = -7; // 7 + 8.5 -> 15
        byte[] expected = new byte[18];
        expected[0] = 0x00;
        expected[1] = (byte) 0xBC; // fp16 -1.0
        expected[2] = (byte) 0x80; // q0 = 0, q16 = 8
        expected[3] = (byte) 0x8F;
        for (int j = 2; j < 16; j++) {
            expected[2 + j] = (byte) 0x88;
        }
        assertArrayEquals(expected, encode(GgmlType.Q4_0, x));
        float[] y = new float[32];
        GgmlBlocks.decode(GgmlType.Q4_0, MemorySegment.ofArray(expected), 0, y, 0, 32);
        assertEquals(8f, y[0]);
        assertEquals(-7f, y[1]);
    }

    @Test
    void q4_1StoresScaleAndMin() {
        float[] x = new float[32];
        x[0] = -1; // min -1, max 14: d = 1, m = -1
        x[1] = 14;
        x[2] = 0.5f; // 1.5 + 0.5 -> 2
        x[3] = -0.5f; // 0.5 + 0.5 -> 1
        x[16] = 2.25f; // 3.25 + 0.5 -> 3
        byte[] expected = new byte[20];
        expected[1] = 0x3C;
        expected[3] = (byte) 0xBC;
        byte[] qs = bytes(0x30, 0x1F, 0x12, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11);
        System.arraycopy(qs, 0, expected, 4, 16);
        assertArrayEquals(expected, encode(GgmlType.Q4_1, x));
    }

    @Test
    void zeroBlocksHaveZeroScale() {
        assertArrayEquals(new byte[34], encode(GgmlType.Q8_0, new float[32]));
        byte[] q4 = encode(GgmlType.Q4_0, new float[32]);
        // max = 0 gives d = 0 / -8 = -0.0f in ggml too: fp16 0x8000
        assertEquals(0, q4[0]);
        assertEquals((byte) 0x80, q4[1]);
        assertEquals((byte) 0x88, q4[2]);
    }

    @Test
    void decodeInvertsWithinHalfAStep() {
        Random r = new Random(7);
        float[] x = new float[32 * 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.F16, GgmlType.BF16, GgmlType.F32}) {
            byte[] b = encode(t, x);
            float[] y = new float[x.length];
            GgmlBlocks.decode(t, MemorySegment.ofArray(b), 0, y, 0, x.length);
            double num = 0;
            double den = 0;
            for (int i = 0; i < x.length; i++) {
                num += (double) (x[i] - y[i]) * (x[i] - y[i]);
                den += (double) x[i] * x[i];
            }
            double sqnr = 10 * Math.log10(den / Math.max(num, 1e-30));
            double min = switch (t) {
                case Q4_0, Q4_1 -> 15;
                case Q8_0 -> 35;
                default -> 45;
            };
            org.junit.jupiter.api.Assertions.assertTrue(sqnr > min, t + " SQNR " + sqnr);
        }
    }
}
