package dev.slimq.quantize.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EasyQuantTest {
    private static final EasyQuant EQ = new EasyQuant();

    @Test
    void oneHugeWeightBecomesAnOutlierReproducedToF16Precision() {
        // 199 weights of ±0.01 and 0.5 at column 123: mean 0.00255, σ ≈ 0.0367, 3σ ≈ 0.11, so only column 123
        // deviates; the cap is floor(0.01*200) = 2. The inliers are two values, which 4 bits represent at codes
        // 0 and 15; column 123 takes the clamped code 15 (≈ 0.01) and stores the residual f16(0.49).
        float[] w = new float[200];
        for (int c = 0; c < 200; c++) {
            w[c] = c % 2 == 0 ? 0.01f : -0.01f;
        }
        w[123] = 0.5f;
        QuantizedTensor q = EQ.quantize("w", w, 1, 200, Matrices.asym(4, 200, ZeroMode.FLOAT, DType.F16));
        assertArrayEquals(new int[] {0, 1}, q.outliers().rowPtr());
        assertArrayEquals(new int[] {123}, q.outliers().colIdx());
        assertEquals(15, q.code(0, 123));
        float[] d = q.dequantize();
        assertEquals(0.5, d[123], QuantizerContractTest.f16Ulp(0.49f) / 2 + 1e-7);
        for (int c = 0; c < 200; c++) {
            if (c != 123) {
                assertEquals(w[c], d[c], 1e-5, "inlier " + c);
            }
        }
        assertEquals(1, EasyQuant.outlierCount(w, 1, 200, 3, 0.01));
    }

    @Test
    void theCapKeepsTheLargestDeviationsTiesToTheLowerColumn() {
        // Four weights of magnitude 1 and two of 0.999 (mean 0, σ = 0.245, 3σ = 0.73) in a row of 100; the cap
        // keeps floor(f*100): the largest deviations first, equal ones by column.
        float[] w = new float[100];
        w[10] = 1;
        w[20] = -1;
        w[30] = 1;
        w[40] = -1;
        w[50] = 0.999f;
        w[60] = -0.999f;
        assertOutlierColumns(w, 0.01, 10);
        assertOutlierColumns(w, 0.02, 10, 20);
        assertOutlierColumns(w, 0.04, 10, 20, 30, 40);
        assertOutlierColumns(w, 0.05, 10, 20, 30, 40, 50);
        assertOutlierColumns(w, 0.10, 10, 20, 30, 40, 50, 60);
        assertOutlierColumns(w, 0.0);
    }

    private static void assertOutlierColumns(float[] w, double fraction, int... cols) {
        EasyQuant eq = new EasyQuant(3, fraction, true, 20);
        QuantizedTensor q = eq.quantize("w", w, 1, w.length, Matrices.asym(4, 50, ZeroMode.FLOAT, DType.F16));
        assertArrayEquals(cols, q.outliers().colIdx(), "fraction " + fraction);
        assertEquals(cols.length, eq.outlierCount(w, 1, w.length));
    }

    @Test
    void outlierCountIsExactlyWhatIsStored() {
        int[][] shapes = {{16, 384}, {7, 1536}, {33, 128}, {5, 4096}};
        for (int i = 0; i < shapes.length; i++) {
            int rows = shapes[i][0];
            int cols = shapes[i][1];
            for (long seed = 0; seed < 4; seed++) {
                float[] w = Matrices.heavyTailed(seed * 10 + i, rows, cols);
                for (double sigma : new double[] {2, 3, 4}) {
                    for (double frac : new double[] {0.001, 0.01, 0.05}) {
                        EasyQuant eq = new EasyQuant(sigma, frac, true, 20);
                        QuantizedTensor q = eq.quantize("w", w, rows, cols, Matrices.asym(4, 128, ZeroMode.FLOAT, DType.F16));
                        assertEquals(q.outliers().count(), EasyQuant.outlierCount(w, rows, cols, sigma, frac));
                        assertEquals(q.outliers().count(), eq.outlierCount(w, rows, cols));
                    }
                }
            }
        }
    }

    @Test
    void rangeOnlyModeStoresNoOutliers() {
        float[] w = Matrices.heavyTailed(5, 8, 512);
        EasyQuant rangeOnly = EQ.withOutliers(false);
        QuantizedTensor q = rangeOnly.quantize("w", w, 8, 512, Matrices.asym(4, 128, ZeroMode.INTEGER, DType.F16));
        assertEquals(0, q.outliers().count());
        assertEquals(0, rangeOnly.outlierCount(w, 8, 512));
    }

    @Test
    void neverWorseThanRtn() {
        int[][] shapes = {{8, 256}, {4, 384}, {3, 1024}};
        for (int i = 0; i < shapes.length; i++) {
            for (long seed = 0; seed < 6; seed++) {
                int rows = shapes[i][0];
                int cols = shapes[i][1];
                float[] w = Matrices.heavyTailed(100 * i + seed, rows, cols);
                for (int g : new int[] {32, 128, cols}) {
                    for (QuantScheme s : Matrices.schemes(g)) {
                        double rtn = Matrices.sse(w, new Rtn().quantize("w", w, rows, cols, s));
                        for (EasyQuant eq : new EasyQuant[] {EQ, EQ.withOutliers(false)}) {
                            double e = Matrices.sse(w, eq.quantize("w", w, rows, cols, s));
                            assertTrue(e <= rtn * (1 + 1e-5), s + " outliers " + eq.keepOutliers() + ": " + e + " > " + rtn);
                        }
                    }
                }
            }
        }
    }

    @Test
    void rangeOnlyFindsTheLeastSquaresFitByHand() {
        // As in SearchTest: x = [0, 1, 2, 4] at 2 bits; codes [0, 1, 2, 3] with s = 1.3, m = -0.2 is a fixed point of
        // the alternation (the nearest codes for it are [0, 1, 2, 3] again), SSE 0.30.
        float[] x = {0, 1, 2, 4};
        QuantizedTensor q = EQ.withOutliers(false).quantize("w", x, 1, 4, Matrices.asym(2, 4, ZeroMode.FLOAT, DType.F32));
        assertArrayEquals(new byte[] {0, 1, 2, 3}, q.codes());
        assertEquals(1.3f, q.scales()[0], 1e-6f);
        assertEquals(0.30, Matrices.sse(x, q), 1e-5);
    }

    @Test
    void outliersImproveHeavyTailedMatrices() {
        float[] w = Matrices.heavyTailed(9, 32, 1024);
        QuantScheme s = Matrices.asym(4, 128, ZeroMode.FLOAT, DType.F16);
        double with = Matrices.sse(w, EQ.quantize("w", w, 32, 1024, s));
        double without = Matrices.sse(w, EQ.withOutliers(false).quantize("w", w, 32, 1024, s));
        double search = Matrices.sse(w, new Search().quantize("w", w, 32, 1024, s));
        assertTrue(with < without && without <= search, with + " " + without + " " + search);
    }

    @Test
    void selectFindsTheKthSmallest() {
        SplittableRandom r = new SplittableRandom(4);
        for (int n = 1; n < 200; n += 7) {
            long[] a = r.longs(n).distinct().toArray();
            long[] sorted = a.clone();
            Arrays.sort(sorted);
            for (int k = 0; k < a.length; k += 3) {
                assertEquals(sorted[k], EasyQuant.select(a.clone(), k));
            }
        }
    }

    @Test
    void settingsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new EasyQuant(0, 0.01, true, 20));
        assertThrows(IllegalArgumentException.class, () -> new EasyQuant(3, 1.5, true, 20));
        assertThrows(IllegalArgumentException.class, () -> new EasyQuant(3, 0.01, true, -1));
    }

    @Test
    void outliersAreStoredPerRowInAscendingColumns() {
        float[] w = Matrices.heavyTailed(21, 12, 768);
        QuantizedTensor q = EQ.quantize("w", w, 12, 768, Matrices.asym(4, 128, ZeroMode.INTEGER, DType.BF16));
        Outliers o = q.outliers();
        assertTrue(o.count() > 0);
        for (int r = 0; r < 12; r++) {
            assertTrue(o.rowPtr()[r + 1] - o.rowPtr()[r] <= 7, "at most 1% of 768 per row");
        }
    }
}
