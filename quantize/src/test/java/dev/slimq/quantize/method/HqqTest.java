package dev.slimq.quantize.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import org.junit.jupiter.api.Test;

class HqqTest {
    private static final Hqq HQQ = new Hqq();
    // 2 bits over [0, 0.375]: s = 0.125, inv = 8, x*inv = [0, 0.3, 1.3, 2.3, 3].
    private static final float[] X = {0, 0.0375f, 0.1625f, 0.2875f, 0.375f};

    @Test
    void floatZeroByHand() {
        // z0 = -min*inv = 0: codes [0, 0, 1, 2, 3], e = x - s*q = [0, .0375, .0375, .0375, 0], mean|e| = 0.0225.
        // Every |e| is below the shrinkage's dead zone β^(-1/(2-p)) = 10^(-1/1.3) = 0.17, so We = 0 and
        // z1 = mean(q - x*inv) = mean([0, -.3, -.3, -.3, 0]) = -0.18.
        // z1: x*inv + z1 = [-.18, .12, 1.12, 2.12, 2.82], same codes; e = [-.0225, .015, .015, .015, -.0225],
        // mean|e| = 0.018 < 0.0225, kept. z2 = mean(q - x*inv) = -0.18 again: no decrease, stop. Zero -0.18.
        QuantizedTensor q = HQQ.quantize("w", X, 1, 5, Matrices.asym(2, 5, ZeroMode.FLOAT, DType.F32));
        assertArrayEquals(new byte[] {0, 0, 1, 2, 3}, q.codes());
        assertArrayEquals(new float[] {0.125f}, q.scales());
        assertEquals(-0.18f, q.zeros()[0], 1e-6f);
    }

    @Test
    void integerZeroIsRoundedAtTheEnd() {
        // The same iteration from round(z0) = 0 ends at -0.18, which rounds to the integer zero 0.
        QuantizedTensor q = HQQ.quantize("w", X, 1, 5, Matrices.asym(2, 5, ZeroMode.INTEGER, DType.F32));
        assertArrayEquals(new byte[] {0, 0, 1, 2, 3}, q.codes());
        assertArrayEquals(new float[] {0}, q.zeros());
    }

    @Test
    void refusesPerChannelGroupsOverLongRows() {
        float[] w = Matrices.heavyTailed(1, 4, 512);
        QuantScheme perChannel = Matrices.asym(4, 512, ZeroMode.FLOAT, DType.F16);
        assertFalse(HQQ.supports(perChannel, 512));
        SlimqException e = assertThrows(SlimqException.class, () -> HQQ.quantize("model.q_proj.weight", w, 4, 512, perChannel));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        assertTrue(e.getMessage().startsWith("model.q_proj.weight: hqq needs groups"), e.getMessage());
        assertTrue(e.getMessage().contains("use --group-size 128 or another method"), e.getMessage());
        assertTrue(HQQ.supports(Matrices.asym(4, 256, ZeroMode.FLOAT, DType.F16), 256));
        assertTrue(HQQ.supports(Matrices.asym(4, 128, ZeroMode.FLOAT, DType.F16), 512));
    }

    @Test
    void symmetricHasNoZeroToOptimizeAndEqualsRtn() {
        float[] w = Matrices.heavyTailed(2, 8, 256);
        for (int bits : new int[] {2, 3, 4, 8}) {
            QuantScheme s = new QuantScheme(bits, 64, true, ZeroMode.INTEGER, DType.F16);
            assertEquals(new Rtn().quantize("w", w, 8, 256, s), HQQ.quantize("w", w, 8, 256, s));
        }
    }

    @Test
    void improvesOnRtnOnAverageInFloatMode() {
        // Not per group (hqq minimizes an Lp error with p < 1, not squared error), but over a heavy-tailed matrix.
        float[] w = Matrices.heavyTailed(3, 64, 1024);
        QuantScheme s = Matrices.asym(4, 64, ZeroMode.FLOAT, DType.F16);
        assertTrue(Matrices.sse(w, HQQ.quantize("w", w, 64, 1024, s)) < Matrices.sse(w, new Rtn().quantize("w", w, 64, 1024, s)));
    }

    @Test
    void settingsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new Hqq(0, 10, 1.01, 20));
        assertThrows(IllegalArgumentException.class, () -> new Hqq(0.7, 10, 0.9, 20));
        assertThrows(IllegalArgumentException.class, () -> new Hqq(0.7, 10, 1.01, 0));
    }
}
