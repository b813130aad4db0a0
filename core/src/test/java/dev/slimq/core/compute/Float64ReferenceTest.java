package dev.slimq.core.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import org.junit.jupiter.api.Test;

class Float64ReferenceTest {

    @Test
    void matmulFollowsTheDequantizationFormula() {
        // 2x4, group 2: w = s * (code - zero) + residual
        QuantScheme s = new QuantScheme(4, 2, false, ZeroMode.FLOAT, DType.F32);
        byte[] codes = {1, 2, 3, 4, 15, 0, 7, 8};
        float[] scales = {0.5f, 2f, -1f, 0.25f};
        float[] zeros = {1f, 0.5f, 8f, 8f};
        Outliers o = new Outliers(new int[] {0, 1, 1}, new int[] {3}, new float[] {10f});
        QuantizedTensor q = new QuantizedTensor("t", 2, 4, s, codes, scales, zeros, o);
        float[] x = {1, 2, 3, 4, -1, 0, 0, 1};
        double[] y = Float64Reference.matmul(q, x, 2);
        double[] w0 = {0, 0.5, 5, 7 + 10};
        double[] w1 = {-7, 8, -0.25, 0};
        assertEquals(w0[0] + 2 * w0[1] + 3 * w0[2] + 4 * w0[3], y[0]);
        assertEquals(w1[0] + 2 * w1[1] + 3 * w1[2] + 4 * w1[3], y[1]);
        assertEquals(-w0[0] + w0[3], y[2]);
        assertEquals(-w1[0] + w1[3], y[3]);
    }

    @Test
    void relativeErrorJudgesNonFiniteValues() {
        assertEquals(0.0, Float64Reference.relativeError(new float[] {1, 2}, new double[] {1, 2}));
        assertEquals(1.25, Float64Reference.relativeError(new float[] {3, 0}, new double[] {0, 4}), 1e-12);
        assertEquals(Double.POSITIVE_INFINITY, Float64Reference.relativeError(new float[] {Float.NaN, 2}, new double[] {1, 2}));
        assertEquals(Double.POSITIVE_INFINITY, Float64Reference.relativeError(new float[] {1, 2}, new double[] {Double.NaN, 2}));
        assertEquals(0.0, Float64Reference.relativeError(new float[] {Float.NaN, 2}, new double[] {Double.NaN, 2}));
        assertEquals(0.0, Float64Reference.relativeError(new float[] {0}, new double[] {0}));
        assertEquals(Double.POSITIVE_INFINITY, Float64Reference.relativeError(new float[] {1e-30f}, new double[] {0}));
    }
}
