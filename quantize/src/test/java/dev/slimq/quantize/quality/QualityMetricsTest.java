package dev.slimq.quantize.quality;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QualityMetricsTest {
    private static final QuantScheme S = new QuantScheme(2, 4, false, ZeroMode.FLOAT, DType.F32);

    /** One row, 2 bits, scale 1, zero -1: codes [0, 1, 2, 3] stand for [1, 2, 3, 4]. */
    private static QuantizedTensor oneToFour(Outliers o) {
        return new QuantizedTensor("w", 1, 4, S, new byte[] {0, 1, 2, 3}, new float[] {1}, new float[] {-1}, o);
    }

    @Test
    void exactReconstruction() {
        QualityMetrics m = QualityMetrics.of(new float[] {1, 2, 3, 4}, oneToFour(null), 7);
        assertEquals(Double.POSITIVE_INFINITY, m.sqnrDb());
        assertEquals(0, m.relativeFrobeniusError());
        assertEquals(0, m.maxAbsError());
        assertEquals(0, m.relativeOutputError());
        // 4 codes of 2 bits + one F32 scale + one F32 zero = 72 bits over 4 weights.
        assertEquals(18, m.bitsPerWeight());
        assertEquals(0, m.outlierFraction());
    }

    @Test
    void oneErrorByHand() {
        // w = [1, 2, 3, 3.5], ŵ = [1, 2, 3, 4]: Σw² = 26.25, Σe² = 0.25.
        float[] w = {1, 2, 3, 3.5f};
        QualityMetrics m = QualityMetrics.of(w, oneToFour(null), 42);
        assertEquals(10 * Math.log10(105), m.sqnrDb(), 1e-12); // 20.2119 dB
        assertEquals(Math.sqrt(0.25 / 26.25), m.relativeFrobeniusError(), 1e-15);
        assertEquals(0.5, m.maxAbsError());
        // Probes: 16 rows of 4 N(0,1) values from Random(42), row after row; y = x·w, error x·e = -0.5·x3.
        Random r = new Random(42);
        double num = 0;
        double den = 0;
        for (int k = 0; k < 16; k++) {
            double[] x = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
            double y = x[0] * 1 + x[1] * 2 + x[2] * 3 + x[3] * 3.5;
            num += 0.25 * x[3] * x[3];
            den += y * y;
        }
        assertEquals(Math.sqrt(num / den), m.relativeOutputError(), 1e-12);
    }

    @Test
    void outliersCountInBitsAndFraction() {
        // A residual of 0.5 at column 3 turns ŵ[3] = 4 into 4.5.
        Outliers o = new Outliers(new int[] {0, 1}, new int[] {3}, new float[] {0.5f});
        QualityMetrics m = QualityMetrics.of(new float[] {1, 2, 3, 4.5f}, oneToFour(o), 1);
        assertEquals(0, m.maxAbsError());
        // 72 bits + row pointers 2×32 + one outlier (u16 column, F16 residual) 32 = 168 bits.
        assertEquals(168 / 4.0, m.bitsPerWeight());
        assertEquals(0.25, m.outlierFraction());
    }

    @Test
    void deterministicAndSeeded() {
        float[] w = new float[64 * 128];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        QuantScheme s = new QuantScheme(4, 32, false, ZeroMode.FLOAT, DType.F16);
        QuantizedTensor q = new dev.slimq.quantize.method.Rtn().quantize("w", w, 64, 128, s);
        QualityMetrics a = QualityMetrics.of(w, q, 5);
        assertEquals(a, QualityMetrics.of(w, q, 5));
        QualityMetrics b = QualityMetrics.of(w, q, 6);
        assertEquals(a.sqnrDb(), b.sqnrDb());
        assertEquals(a.relativeFrobeniusError(), b.relativeOutputError(), 0.2 * a.relativeFrobeniusError(),
                "isotropic probes see about the weight error");
    }

    @Test
    void vectorizedProbesEqualTheScalarReference() {
        SplittableRandom r = new SplittableRandom(9);
        for (int cols : new int[] {1, 3, 17, 384, 1000}) {
            double[] xt = r.doubles(cols * QualityMetrics.PROBE_ROWS).toArray();
            double[] w = r.doubles(cols).toArray();
            double[] e = r.doubles(cols).map(v -> v * 1e-3).toArray();
            double[] yw = new double[16];
            double[] ye = new double[16];
            double[] rw = new double[16];
            double[] re = new double[16];
            QualityMetrics.Probes.apply(xt, w, e, cols, yw, ye);
            QualityMetrics.Probes.scalar(xt, w, e, cols, rw, re);
            assertArrayEquals(rw, yw);
            assertArrayEquals(re, ye);
        }
    }
}
