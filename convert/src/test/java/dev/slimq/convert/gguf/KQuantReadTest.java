package dev.slimq.convert.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Q4_K and Q6_K reading against blocks built in the test from the layouts in ggml-common.h
 * ({@code block_q4_K}: half d, half dmin, u8 scales[12], u8 qs[128]; {@code block_q6_K}: u8 ql[128],
 * u8 qh[64], int8 scales[16], half d), packed the way ggml's {@code quantize_row_q4_K_ref} and
 * {@code quantize_row_q6_K_ref} pack them, and values computed from the unpacked fields with the
 * spec's formula (Q4_K: {@code (d*sc)*q - dmin*m} per 32-value sub-block; Q6_K: {@code (d*sc)*(q-32)}
 * per 16-value sub-block), plus single values worked out by hand. Every block goes through a real GGUF
 * file and {@link GgufFile#readFloats}.
 */
class KQuantReadTest {
    private static final short ONE = 0x3C00; // fp16 1.0
    private static final short HALF = 0x3800; // fp16 0.5

    /** Reads one tensor of {@code type} whose data is {@code blocks} back through a GGUF file. */
    private static float[] read(Path dir, GgmlType type, byte[] blocks, int n) {
        Path f = dir.resolve(type.cliName() + ".gguf");
        try (GgufWriter w = GgufWriter.create(f, Map.of(), List.of(new GgufWriter.Planned("t", new long[] {n}, type)))) {
            w.write("t", ByteBuffer.wrap(blocks));
            w.commit();
        }
        try (GgufFile g = GgufFile.open(f)) {
            return g.readFloats(g.tensor("t").orElseThrow());
        }
    }

    private static void putHalf(byte[] b, int at, short h) {
        b[at] = (byte) h;
        b[at + 1] = (byte) (h >>> 8);
    }

    /** ggml's Q4_K packing of 8 six-bit scales and mins into 12 bytes (quantize_row_q4_K_ref). */
    private static byte[] packScalesMins(int[] sc, int[] m) {
        byte[] s = new byte[12];
        for (int j = 0; j < 4; j++) {
            s[j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
            s[j + 4] = (byte) (m[j] | (m[j + 4] >> 4) << 6);
            s[j + 8] = (byte) (sc[j + 4] & 0xF | (m[j + 4] & 0xF) << 4);
        }
        return s;
    }

    /** One block_q4_K from its fields; q holds 256 values 0..15 in element order. */
    private static byte[] q4k(short d, short dmin, int[] sc, int[] m, int[] q) {
        byte[] b = new byte[144];
        putHalf(b, 0, d);
        putHalf(b, 2, dmin);
        System.arraycopy(packScalesMins(sc, m), 0, b, 4, 12);
        // 64 values per 32 bytes: the first 32 in the low nibbles, the next 32 in the high nibbles.
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                b[16 + 32 * c + l] = (byte) (q[64 * c + l] | q[64 * c + 32 + l] << 4);
            }
        }
        return b;
    }

    /** One block_q6_K from its fields; q holds 256 values 0..63 in element order. */
    private static byte[] q6k(short d, int[] sc, int[] q) {
        byte[] b = new byte[210];
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int q1 = q[128 * h + l];
                int q2 = q[128 * h + l + 32];
                int q3 = q[128 * h + l + 64];
                int q4 = q[128 * h + l + 96];
                b[64 * h + l] = (byte) (q1 & 0xF | (q3 & 0xF) << 4);
                b[64 * h + l + 32] = (byte) (q2 & 0xF | (q4 & 0xF) << 4);
                b[128 + 32 * h + l] = (byte) (q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
        for (int i = 0; i < 16; i++) {
            b[192 + i] = (byte) sc[i];
        }
        putHalf(b, 208, d);
        return b;
    }

    @Test
    void q4KValuesWorkedOutByHand(@TempDir Path dir) {
        byte[] b = new byte[144];
        putHalf(b, 0, ONE); // d = 1
        putHalf(b, 2, HALF); // dmin = 0.5
        b[4] = 3; // scales[0]: sc0 = 3
        b[4 + 4] = 2; // scales[4]: m0 = 2
        // sub-block 5 (j >= 4): sc5 = 45 = 0b10_1101: low nibble 13 in scales[9], top bits 2 in scales[1] >> 6;
        // m5 = 33 = 0b10_0001: low nibble 1 in scales[9] >> 4, top bits 2 in scales[5] >> 6.
        b[4 + 9] = 0x1D;
        b[4 + 1] = (byte) 0x80;
        b[4 + 5] = (byte) 0x80;
        b[16] = 0x05; // qs[0] low nibble: element 0 (sub-block 0), q = 5
        b[16 + 67] = 0x70; // qs[67] high nibble: element 64*2 + 32 + 3 = 163 (sub-block 5), q = 7
        float[] y = read(dir, GgmlType.Q4_K, b, 256);
        assertEquals(14f, y[0]); // 1*3*5 - 0.5*2
        assertEquals(-1f, y[1]); // q = 0 in sub-block 0: -0.5*2
        assertEquals(298.5f, y[163]); // 1*45*7 - 0.5*33
        assertEquals(-16.5f, y[160]); // q = 0 in sub-block 5
        assertEquals(0f, y[35]); // sub-block 1: sc1 = scales[1] & 63 = 0, m1 = scales[5] & 63 = 0
        assertEquals(0f, y[67]); // sub-block 2 (qs[35] low nibble): sc2 = m2 = 0
    }

    @Test
    void q6KValuesWorkedOutByHand(@TempDir Path dir) {
        byte[] b = new byte[210];
        putHalf(b, 208, HALF); // d = 0.5, stored last
        b[192] = 2; // scales[0]
        b[192 + 9] = (byte) -3; // scales[9]
        b[0] = 0x0F; // ql[0] low nibble: low 4 bits of element 0
        b[128] = 0x03; // qh[0] bits 0-1: high 2 bits of element 0 -> q = 63
        b[64 + 16] = (byte) 0xA0; // ql[80] high nibble: low 4 bits of element 128 + 64 + 16 = 208 (sub-block 13)
        b[128 + 32 + 16] = 0x10; // qh[48] bits 4-5: high bits of element 208 -> q = 16 | 10 = 26
        b[192 + 13] = 5; // scales[13]
        float[] y = read(dir, GgmlType.Q6_K, b, 256);
        assertEquals(31f, y[0]); // 0.5*2*(63-32)
        assertEquals(-32f, y[1]); // 0.5*2*(0-32)
        assertEquals(48f, y[144]); // sub-block 9, q = 0: 0.5*(-3)*(-32)
        assertEquals(-15f, y[208]); // 0.5*5*(26-32)
        assertEquals(-0f, y[40]); // sub-block 2: (0.5*0)*(0-32), IEEE negative zero
    }

    @Test
    void randomBlocksMatchTheSpecFormula(@TempDir Path dir) {
        Random r = new Random(8);
        int blocks = 3;
        byte[] q4 = new byte[144 * blocks];
        byte[] q6 = new byte[210 * blocks];
        float[] e4 = new float[256 * blocks];
        float[] e6 = new float[256 * blocks];
        for (int k = 0; k < blocks; k++) {
            short d = (short) (0x2000 + r.nextInt(0x2000)); // positive normal fp16 values
            short dmin = (short) (0x2000 + r.nextInt(0x2000));
            int[] sc = new int[8];
            int[] m = new int[8];
            int[] q = new int[256];
            for (int j = 0; j < 8; j++) {
                sc[j] = r.nextInt(64);
                m[j] = r.nextInt(64);
            }
            for (int i = 0; i < 256; i++) {
                q[i] = r.nextInt(16);
            }
            System.arraycopy(q4k(d, dmin, sc, m, q), 0, q4, 144 * k, 144);
            float df = Float.float16ToFloat(d);
            float mf = Float.float16ToFloat(dmin);
            for (int i = 0; i < 256; i++) {
                int j = i / 32;
                e4[256 * k + i] = df * sc[j] * q[i] - mf * m[j];
            }

            short d6 = (short) (0x2000 + r.nextInt(0x2000) | (r.nextBoolean() ? 0x8000 : 0));
            int[] sc6 = new int[16];
            int[] q6v = new int[256];
            for (int j = 0; j < 16; j++) {
                sc6[j] = r.nextInt(256) - 128;
            }
            for (int i = 0; i < 256; i++) {
                q6v[i] = r.nextInt(64);
            }
            System.arraycopy(q6k(d6, sc6, q6v), 0, q6, 210 * k, 210);
            float d6f = Float.float16ToFloat(d6);
            for (int i = 0; i < 256; i++) {
                e6[256 * k + i] = d6f * sc6[i / 16] * (q6v[i] - 32);
            }
        }
        assertArrayEquals(e4, read(dir, GgmlType.Q4_K, q4, 256 * blocks));
        assertArrayEquals(e6, read(dir, GgmlType.Q6_K, q6, 256 * blocks));
    }
}
