package dev.slimq.quantize.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import org.junit.jupiter.api.Test;

class SearchTest {
    private static final float[] X = {0, 1, 2, 4};

    @Test
    void floatZeroFindsTheLeastSquaresFitByHand() {
        // rtn: s = 4/3, codes rint(x*3/4) = [0, 1, 2 (1.5), 3], error [0, 1/3, 2/3, 0]: SSE 0.5556.
        // Candidates with iscale >= 0.75 give the same codes l = [0, 1, 2, 3]; their least-squares fit of
        // x = s*l + m: mean l 1.5, mean x 1.75, Σ(l-1.5)(x-1.75) = 6.5, Σ(l-1.5)² = 5, so s = 1.3, m = -0.2,
        // i.e. z = 0.2/1.3 = 0.153846; fitted [-0.2, 1.1, 2.4, 3.7], SSE 0.04+0.01+0.16+0.09 = 0.30.
        // Smaller iscales give codes like [0, 1, 1, 2] (fit SSE 0.75) or [0, 1, 1, 3] (0.526): worse.
        QuantizedTensor q = new Search().quantize("w", X, 1, 4, Matrices.asym(2, 4, ZeroMode.FLOAT, DType.F32));
        assertArrayEquals(new byte[] {0, 1, 2, 3}, q.codes());
        assertEquals(1.3f, q.scales()[0], 1e-6f);
        assertEquals(0.2 / 1.3, q.zeros()[0], 1e-6);
        assertEquals(0.30, Matrices.sse(X, q), 1e-5);
    }

    @Test
    void integerZeroRoundsTheZeroAndRefitsTheScaleByHand() {
        // Same codes; z = rint(0.1538) = 0 and the scale refit for it: s = Σxl/Σl² = 17/14 = 1.2142857,
        // SSE = Σx² - 17²/14 = 21 - 20.642857 = 0.357143 < rtn's 0.5556. Other candidates' codes do worse
        // (e.g. [0, 1, 1, 3]: z = 0, s = 15/11, SSE 0.5455).
        QuantizedTensor q = new Search().quantize("w", X, 1, 4, Matrices.asym(2, 4, ZeroMode.INTEGER, DType.F32));
        assertArrayEquals(new byte[] {0, 1, 2, 3}, q.codes());
        assertEquals(17 / 14.0, q.scales()[0], 1e-6);
        assertEquals(0, q.zeros()[0]);
        assertEquals(0.357143, Matrices.sse(X, q), 1e-5);
    }

    @Test
    void symmetricRefitsTheScaleByHand() {
        // 2 bits symmetric: zero 2, levels s*{-2, -1, 0, 1}. Extreme -2; candidates iscale = (2 + 0.1i)/2.
        // For iscale in (0.75, 1.45] the signed codes are [-2, -1, 0, 1] (1.6 clips to 1), refit
        // s = Σxl/Σl² = (4 + 1 + 0 + 1.6)/6 = 1.1, SSE = 7.56 - 6.6²/6 = 0.30; rtn keeps s = 1, SSE 0.36.
        // Smaller iscales give [-1, -1, 0, 1]: s = 4.6/3, SSE 0.507.
        float[] x = {-2, -1, 0, 1.6f};
        QuantizedTensor q = new Search().quantize("w", x, 1, 4, new QuantScheme(2, 4, true, ZeroMode.INTEGER, DType.F32));
        assertArrayEquals(new byte[] {0, 1, 2, 3}, q.codes());
        assertEquals(1.1f, q.scales()[0], 1e-6f);
        assertEquals(0.30, Matrices.sse(x, q), 1e-5);
    }

    @Test
    void neverWorseThanRtn() {
        for (long seed = 0; seed < 10; seed++) {
            float[] w = Matrices.heavyTailed(seed, 4, 256);
            for (QuantScheme s : Matrices.schemes(64)) {
                double search = Matrices.sse(w, new Search().quantize("w", w, 4, 256, s));
                double rtn = Matrices.sse(w, new Rtn().quantize("w", w, 4, 256, s));
                assertTrue(search <= rtn * (1 + 1e-5), s + " seed " + seed + ": " + search + " > " + rtn);
            }
        }
    }
}
