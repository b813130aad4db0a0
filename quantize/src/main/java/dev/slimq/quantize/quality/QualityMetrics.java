package dev.slimq.quantize.quality;

import dev.slimq.core.quant.QuantizedTensor;
import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * How far a quantized matrix is from its original, in float64, for the quantization report (DESIGN.md
 * section 3, research/quantization.md section 6). With {@code W} the original, {@code Ŵ} the
 * dequantized matrix ({@link QuantizedTensor#dequantizeRow}) and {@code E = W − Ŵ}:
 * <ul>
 *   <li>{@code sqnrDb = 10·log10(Σw² / Σe²)}, +∞ when {@code E = 0};</li>
 *   <li>{@code relativeFrobeniusError = ‖E‖_F / ‖W‖_F} (0 when {@code E = 0});</li>
 *   <li>{@code maxAbsError = max |e|};</li>
 *   <li>{@code relativeOutputError = ‖X·Eᵀ‖_F / ‖X·Wᵀ‖_F} over {@value #PROBE_ROWS} probe rows {@code X}
 *       with N(0, 1) entries drawn by {@code java.util.Random(probeSeed).nextGaussian()} row after row
 *       (a generator whose sequence Java specifies, so the value never changes); isotropic probes weigh
 *       all input channels alike, which keeps it close to the weight error but says how errors add up
 *       in a layer's outputs;</li>
 *   <li>{@code bitsPerWeight = q.storageBits() / (rows·cols)} and {@code outlierFraction = outliers / (rows·cols)}.</li>
 * </ul>
 * Deterministic: every sum runs in a fixed order (the probe products are vectorized across the 16
 * probes, each lane summing its own probe in column order, which is the scalar order).
 *
 * @param sqnrDb                 signal to quantization noise ratio in dB
 * @param relativeFrobeniusError {@code ‖W − Ŵ‖_F / ‖W‖_F}
 * @param maxAbsError            the largest {@code |w − ŵ|}
 * @param relativeOutputError    {@code ‖X·(W − Ŵ)ᵀ‖_F / ‖X·Wᵀ‖_F} on the seeded probe rows
 * @param bitsPerWeight          native storage bits (codes, scales, zeros, outliers) per weight
 * @param outlierFraction        stored outliers per weight
 */
public record QualityMetrics(double sqnrDb, double relativeFrobeniusError, double maxAbsError,
                             double relativeOutputError, double bitsPerWeight, double outlierFraction) {
    /** Probe rows for the output error. */
    public static final int PROBE_ROWS = 16;

    /** Measures {@code q} against {@code original}, the row-major {@code [rows, cols]} matrix it came from. */
    public static QualityMetrics of(float[] original, QuantizedTensor q, long probeSeed) {
        int rows = q.rows();
        int cols = q.cols();
        if (original.length != (long) rows * cols) {
            throw new IllegalArgumentException(q.name() + ": " + original.length + " weights for " + rows + "x" + cols);
        }
        // Probes stored column-major: xt[c * PROBE_ROWS + k] = X[k][c].
        double[] xt = new double[Math.multiplyExact(cols, PROBE_ROWS)];
        Random rnd = new Random(probeSeed);
        for (int k = 0; k < PROBE_ROWS; k++) {
            for (int c = 0; c < cols; c++) {
                xt[c * PROBE_ROWS + k] = rnd.nextGaussian();
            }
        }
        double sumW2 = 0;
        double sumE2 = 0;
        double maxErr = 0;
        double outW2 = 0;
        double outE2 = 0;
        float[] deq = new float[cols];
        double[] w = new double[cols];
        double[] e = new double[cols];
        double[] yw = new double[PROBE_ROWS];
        double[] ye = new double[PROBE_ROWS];
        for (int r = 0; r < rows; r++) {
            q.dequantizeRow(r, deq);
            for (int c = 0; c < cols; c++) {
                w[c] = original[r * cols + c];
                e[c] = w[c] - deq[c];
                sumW2 += w[c] * w[c];
                sumE2 += e[c] * e[c];
                maxErr = Math.max(maxErr, Math.abs(e[c]));
            }
            Probes.apply(xt, w, e, cols, yw, ye);
            for (int k = 0; k < PROBE_ROWS; k++) {
                outW2 += yw[k] * yw[k];
                outE2 += ye[k] * ye[k];
            }
        }
        long n = (long) rows * cols;
        return new QualityMetrics(
                sumE2 == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(sumW2 / sumE2),
                ratio(sumE2, sumW2), maxErr, ratio(outE2, outW2),
                (double) q.storageBits() / n, (double) q.outliers().count() / n);
    }

    /** sqrt(num/den), 0 when num is 0 (also for an all-zero matrix), +∞ when only den is 0. */
    private static double ratio(double num, double den) {
        return num == 0 ? 0 : Math.sqrt(num / den);
    }

    /** The probe products of one row: {@code yw[k] = Σ_c X[k][c]·w[c]}, {@code ye[k] = Σ_c X[k][c]·e[c]}. */
    static final class Probes {
        private static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

        private Probes() {
        }

        static void apply(double[] xt, double[] w, double[] e, int cols, double[] yw, double[] ye) {
            if (VECTOR) {
                Vectorized.apply(xt, w, e, cols, yw, ye);
            } else {
                scalar(xt, w, e, cols, yw, ye);
            }
        }

        /** The reference: each probe's sum in column order, with fma. */
        static void scalar(double[] xt, double[] w, double[] e, int cols, double[] yw, double[] ye) {
            Arrays.fill(yw, 0);
            Arrays.fill(ye, 0);
            for (int c = 0; c < cols; c++) {
                for (int k = 0; k < PROBE_ROWS; k++) {
                    yw[k] = Math.fma(xt[c * PROBE_ROWS + k], w[c], yw[k]);
                    ye[k] = Math.fma(xt[c * PROBE_ROWS + k], e[c], ye[k]);
                }
            }
        }
    }

    /** Lanes are probes, so any vector width gives the scalar reference's sums bit for bit. */
    static final class Vectorized {
        private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

        private Vectorized() {
        }

        static void apply(double[] xt, double[] w, double[] e, int cols, double[] yw, double[] ye) {
            if (PROBE_ROWS % S.length() != 0) {
                Probes.scalar(xt, w, e, cols, yw, ye);
                return;
            }
            for (int k0 = 0; k0 < PROBE_ROWS; k0 += S.length()) {
                DoubleVector aw = DoubleVector.zero(S);
                DoubleVector ae = aw;
                for (int c = 0; c < cols; c++) {
                    DoubleVector x = DoubleVector.fromArray(S, xt, c * PROBE_ROWS + k0);
                    aw = x.fma(DoubleVector.broadcast(S, w[c]), aw);
                    ae = x.fma(DoubleVector.broadcast(S, e[c]), ae);
                }
                aw.intoArray(yw, k0);
                ae.intoArray(ye, k0);
            }
        }
    }
}
