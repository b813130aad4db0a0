package dev.slimq.quantize.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bit stream, word by word, against words computed by hand from AutoGPTQ's {@code pack}
 * (AutoGPTQ/AutoGPTQ auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py).
 */
class BitPackingTest {

    private static byte[] seq(int n, int mod) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i % mod);
        }
        return b;
    }

    @Test
    void fourBitCodesZeroToFifteenFillTwoWordsLowNibbleFirst() {
        int[] w = new int[2];
        assertEquals(2, BitPacking.packWords(seq(16, 16), 0, 16, 4, w, 0));
        assertArrayEquals(new int[] {0x76543210, 0xFEDCBA98}, w);
    }

    /**
     * Values {@code i % 8} for i = 0..31, by hand from {@code pack}'s 3-bit branch:
     * word 0 = values 0..9 at shifts 3j plus value 10 (2 = 0b010) {@code << 30}, which keeps its low two
     * bits: 0x8FAC688 + 0x80000000 = 0x88FAC688.
     * word 1 = {@code (2 >> 2) & 1} = 0, values 11..20 (3,4,5,6,7,0,1,2,3,4) at shifts 3j + 1, value 21
     * (5 = 0b101) {@code << 31}: 0x4688FAC6 + 0x80000000 = 0xC688FAC6.
     * word 2 = {@code (5 >> 1) & 3} = 2, values 22..31 (6,7,0,1,2,3,4,5,6,7) at shifts 3j + 2: 0xFAC688FA.
     */
    @Test
    void threeBitPackingStraddlesWordsAsAutoGptq() {
        int[] w = new int[3];
        assertEquals(3, BitPacking.packWords(seq(32, 8), 0, 32, 3, w, 0));
        assertArrayEquals(new int[] {0x88FAC688, 0xC688FAC6, 0xFAC688FA}, w);
        byte[] back = new byte[32];
        BitPacking.unpackWords(w, 0, 32, 3, back, 0);
        assertArrayEquals(seq(32, 8), back);
    }

    @Test
    void twoAndEightBitWords() {
        int[] w = new int[1];
        // 2 bits: values 0,1,2,3 repeated at shifts 2j: each byte 0b11100100.
        BitPacking.packWords(seq(16, 4), 0, 16, 2, w, 0);
        assertEquals(0xE4E4E4E4, w[0]);
        BitPacking.packWords(new byte[] {1, 2, (byte) 130, (byte) 255}, 0, 4, 8, w, 0);
        assertEquals(0xFF820201, w[0]);
    }

    @Test
    void partialLastWordIsZeroPadded() {
        int[] w = new int[3];
        assertEquals(3, BitPacking.packWords(seq(20, 16), 0, 20, 4, w, 0));
        assertArrayEquals(new int[] {0x76543210, 0xFEDCBA98, 0x00003210}, w);
    }

    /** Bytes of the same streams: the little-endian bytes of the words above. */
    @Test
    void byteStreams() {
        byte[] out = new byte[8];
        assertEquals(8, BitPacking.packBytes(seq(16, 16), 0, 16, 4, out, 0));
        assertArrayEquals(new byte[] {0x10, 0x32, 0x54, 0x76, (byte) 0x98, (byte) 0xBA, (byte) 0xDC, (byte) 0xFE}, out);
        byte[] three = new byte[3];
        // codes 0..7 in 3 bytes: 0xFAC688 little-endian.
        assertEquals(3, BitPacking.packBytes(seq(8, 8), 0, 8, 3, three, 0));
        assertArrayEquals(new byte[] {(byte) 0x88, (byte) 0xC6, (byte) 0xFA}, three);
        byte[] odd = new byte[3];
        assertEquals(3, BitPacking.packBytes(new byte[] {1, 2, 3, 4, 5}, 0, 5, 4, odd, 0));
        assertArrayEquals(new byte[] {0x21, 0x43, 0x05}, odd);
        byte[] two = new byte[2];
        BitPacking.packBytes(new byte[] {0, 1, 2, 3, 3, 2, 1, 0}, 0, 8, 2, two, 0);
        assertArrayEquals(new byte[] {(byte) 0xE4, 0x1B}, two);
    }

    @Test
    void wordFillLeavesHighBitsUnusedForThreeBits() {
        // compressed-tensors pack_to_int32 with 3 bits: 10 values per word, bits 30 and 31 zero.
        int[] w = {0};
        for (int t = 0; t < 10; t++) {
            w[0] |= 7 << (3 * t);
        }
        assertEquals(0x3FFFFFFF, w[0]);
        for (int i = 0; i < 10; i++) {
            assertEquals(7, BitPacking.filledValue(w, 0, i, 3));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4, 8})
    void packThenUnpackIsIdentity(int bits) {
        Random rnd = new Random(bits);
        for (int n : new int[] {1, 7, 31, 32, 33, 100, 257}) {
            byte[] v = new byte[n];
            for (int i = 0; i < n; i++) {
                v[i] = (byte) rnd.nextInt(1 << bits);
            }
            int[] words = new int[BitPacking.streamWords(n, bits)];
            assertEquals(words.length, BitPacking.packWords(v, 0, n, bits, words, 0));
            byte[] back = new byte[n];
            BitPacking.unpackWords(words, 0, n, bits, back, 0);
            assertArrayEquals(v, back);
            byte[] bytes = new byte[BitPacking.streamBytes(n, bits)];
            assertEquals(bytes.length, BitPacking.packBytes(v, 0, n, bits, bytes, 0));
            BitPacking.unpackBytes(bytes, 0, n, bits, back, 0);
            assertArrayEquals(v, back);
            // The byte stream is the word stream read little-endian.
            for (int i = 0; i < bytes.length; i++) {
                assertEquals(bytes[i], (byte) (words[i / 4] >>> (8 * (i % 4))));
            }
        }
    }
}
