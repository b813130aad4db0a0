package dev.slimq.core.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import org.junit.jupiter.api.Test;

class TiledLayoutTest {

    /** Reads code (r, c) back out of the packed words by the layout's definition. */
    static int unpack(TiledLayout l, int[] words, int r, int c) {
        int p = l.paddedCol(c);
        int o = p % l.tileCodes();
        int word = words[r * l.wordsPerRow() + p / l.tileCodes() * l.width() + o % l.width()];
        return word >>> (l.storedBits() * (o / l.width())) & ((1 << l.storedBits()) - 1);
    }

    @Test
    void packingRoundTripsEveryCode() {
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int group : new int[] {24, 32, 64, 128, 200}) {
                int cols = group * 3;
                for (int maxWidth : new int[] {4, 8, 16}) {
                    QuantizedTensor q = SyntheticWeights.quantized("t", 5, cols, new QuantScheme(bits, group, true, ZeroMode.INTEGER, DType.F16), 0, bits + group);
                    TiledLayout l = TiledLayout.of(q, maxWidth, maxWidth == 8);
                    assertTrue(l.width() <= maxWidth);
                    assertEquals(0, l.paddedGroup() % l.tileCodes());
                    int[] words = l.pack(q);
                    for (int r = 0; r < 5; r++) {
                        for (int c = 0; c < cols; c++) {
                            assertEquals(q.code(r, c), unpack(l, words, r, c), bits + " bits g" + group + " w" + maxWidth);
                        }
                    }
                }
            }
        }
    }

    @Test
    void widthIsTheWidestThatDoesNotPadMore() {
        QuantScheme g128 = new QuantScheme(4, 128, true, ZeroMode.INTEGER, DType.F16);
        QuantizedTensor q = SyntheticWeights.quantized("t", 1, 256, g128, 0, 1);
        assertEquals(16, TiledLayout.of(q, 16, true).width());
        assertEquals(128, TiledLayout.of(q, 16, true).paddedGroup());
        QuantizedTensor q64 = SyntheticWeights.quantized("t", 1, 256, g128.withGroupSize(64), 0, 1);
        assertEquals(8, TiledLayout.of(q64, 16, true).width());
        QuantizedTensor q24 = SyntheticWeights.quantized("t", 1, 48, g128.withGroupSize(24), 0, 1);
        TiledLayout l24 = TiledLayout.of(q24, 16, false);
        assertEquals(4, l24.width());
        assertEquals(32, l24.paddedGroup());
        assertEquals(64, l24.paddedCols());
        assertEquals(1, l24.chunkTiles());
        QuantizedTensor perChannel = SyntheticWeights.quantized("t", 1, 1000, g128.withGroupSize(1000), 0, 1);
        assertEquals(1024, TiledLayout.of(perChannel, 16, true).paddedGroup());
    }

    @Test
    void activationPaddingAndChunkSums() {
        QuantizedTensor q = SyntheticWeights.quantized("t", 1, 48, new QuantScheme(4, 24, true, ZeroMode.INTEGER, DType.F16), 0, 1);
        TiledLayout l = TiledLayout.of(q, 4, true);
        float[] x = new float[96];
        for (int i = 0; i < x.length; i++) {
            x[i] = i + 1;
        }
        float[] p = l.padActivations(x, 2, 3, ActivationType.F32);
        assertEquals(3 * 64, p.length);
        assertEquals(24f, p[23]);
        assertEquals(0f, p[24]);
        assertEquals(25f, p[32]);
        assertEquals(49f, p[64]);
        assertEquals(0f, p[128]);
        float[] s = l.chunkSums(p, 3);
        assertEquals(2 * 3, s.length);
        assertEquals(300f, s[0]); // 1..24
        assertEquals(0f, s[4]);
    }

    @Test
    void rejectsInconsistentLayouts() {
        assertThrows(IllegalArgumentException.class, () -> new TiledLayout(1, 64, 3, 4, 32, 32, 1));
        assertThrows(IllegalArgumentException.class, () -> new TiledLayout(1, 64, 4, 4, 32, 48, 1));
        assertThrows(IllegalArgumentException.class, () -> new TiledLayout(1, 64, 4, 4, 32, 64, 3));
    }
}
