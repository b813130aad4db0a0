package dev.slimq.quantize.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import org.junit.jupiter.api.Test;

class RtnTest {
    private static final Rtn RTN = new Rtn();

    private static QuantizedTensor rtn(float[] w, int rows, int cols, QuantScheme s) {
        return RTN.quantize("w", w, rows, cols, s);
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @Test
    void asymmetricFloatZeroByHand() {
        // 2 bits (codes 0..3), range [-1, 2]: s = 3/3 = 1, z = 1/1 = 1.
        // x/s + z = [0, 1, 1.5, 3] -> rint, half to even -> [0, 1, 2, 3]; dequant 1*(c - 1) = [-1, 0, 1, 2].
        QuantizedTensor q = rtn(new float[] {-1, 0, 0.5f, 2}, 1, 4, Matrices.asym(2, 4, ZeroMode.FLOAT, DType.F32));
        assertArrayEquals(bytes(0, 1, 2, 3), q.codes());
        assertArrayEquals(new float[] {1}, q.scales());
        assertArrayEquals(new float[] {1}, q.zeros());
        assertArrayEquals(new float[] {-1, 0, 1, 2}, q.dequantize());
    }

    @Test
    void integerZeroWidensTheRangeToContainZero() {
        // [0.5, 3] widened to [0, 3] so that the integer zero is a code: s = 1, z = 0.
        // rint([0.5, 1.2, 2.6, 3]) = [0 (half to even), 1, 3, 3].
        QuantizedTensor q = rtn(new float[] {0.5f, 1.2f, 2.6f, 3}, 1, 4, Matrices.asym(2, 4, ZeroMode.INTEGER, DType.F16));
        assertArrayEquals(bytes(0, 1, 3, 3), q.codes());
        assertArrayEquals(new float[] {1}, q.scales());
        assertArrayEquals(new float[] {0}, q.zeros());
    }

    @Test
    void symmetricUsesTheSignedExtremeLikeQ4_0() {
        QuantScheme s = new QuantScheme(4, 4, true, ZeroMode.INTEGER, DType.F16);
        // Negative extreme -8: s = -8/-8 = 1, z = 8; rint(x + 8) = [0, 9, 11 (11.4), 15].
        QuantizedTensor q = rtn(new float[] {-8, 1, 3.4f, 7}, 1, 4, s);
        assertArrayEquals(bytes(0, 9, 11, 15), q.codes());
        assertArrayEquals(new float[] {1}, q.scales());
        assertArrayEquals(new float[] {8}, q.zeros());
        // Positive extreme 8: s = 8/-8 = -1, so 8 is exactly code 0; rint(-x + 8) = [0, 9, 6 (5.5, half to even), 15];
        // dequant -1*(c - 8) = [8, -1, 2, -7].
        q = rtn(new float[] {8, -1, 2.5f, -7}, 1, 4, s);
        assertArrayEquals(bytes(0, 9, 6, 15), q.codes());
        assertArrayEquals(new float[] {-1}, q.scales());
        assertArrayEquals(new float[] {8, -1, 2, -7}, q.dequantize());
        // A tie of magnitudes takes the negative extreme (positive scale): 8 needs code 16 and clips to 15, i.e. 7.
        q = rtn(new float[] {-8, 8, 0, 0}, 1, 4, s);
        assertArrayEquals(bytes(0, 15, 8, 8), q.codes());
        assertArrayEquals(new float[] {-8, 7, 0, 0}, q.dequantize());
    }

    @Test
    void scalesAreRoundedToTheirDtypeAndCodesRecomputed() {
        // s = 0.3f/15 = 0.020000000794728596 rounds to BF16 0.02001953125; codes use the stored scale:
        // x/s = [0, 4.995, 9.99, 14.985] -> [0, 5, 10, 15].
        QuantizedTensor q = rtn(new float[] {0, 0.1f, 0.2f, 0.3f}, 1, 4, Matrices.asym(4, 4, ZeroMode.FLOAT, DType.BF16));
        assertArrayEquals(new float[] {0.02001953125f}, q.scales());
        assertArrayEquals(bytes(0, 5, 10, 15), q.codes());
        assertArrayEquals(new float[] {0}, q.zeros());
    }

    @Test
    void groupsAreIndependent() {
        // Two rows, two groups of 2 each, 2 bits: a group [a, b] gets codes 0 and 3, scale (b - a)/3, zero -a/s:
        // [0, 3] -> 1, 0; [-6, 0] -> 2, 3; [1, 4] -> 1, -1; [10, 13] -> 1, -10.
        float[] w = {0, 3, -6, 0, 1, 4, 10, 13};
        QuantizedTensor q = rtn(w, 2, 4, Matrices.asym(2, 2, ZeroMode.FLOAT, DType.F32));
        assertArrayEquals(bytes(0, 3, 0, 3, 0, 3, 0, 3), q.codes());
        assertArrayEquals(new float[] {1, 2, 1, 1}, q.scales());
        assertArrayEquals(new float[] {0, 3, -1, -10}, q.zeros());
        assertArrayEquals(w, q.dequantize());
    }

    @Test
    void everyWeightWithinHalfAStepWithF32Scales() {
        for (long seed = 0; seed < 20; seed++) {
            float[] w = Matrices.heavyTailed(seed, 8, 256);
            for (ZeroMode mode : ZeroMode.values()) {
                for (int bits : new int[] {2, 3, 4, 8}) {
                    QuantizedTensor q = rtn(w, 8, 256, Matrices.asym(bits, 64, mode, DType.F32));
                    float[] d = q.dequantize();
                    for (int i = 0; i < w.length; i++) {
                        float s = q.scales()[i / 64];
                        assertTrue(Math.abs(w[i] - d[i]) <= s / 2 * (1 + 1e-5) + 1e-12, "seed " + seed + " i " + i);
                    }
                }
            }
        }
    }
}
