package dev.slimq.core.compute;

import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantizedTensor;

/**
 * The ground truth for every product in slimq: plain loops, every weight dequantized exactly as
 * {@link QuantizedTensor} defines it ({@code scale * (code - zero) + residual}) and every sum in float64.
 * Kernels are judged against it norm-wise ({@link #relativeError}), never element-wise: an f32 dot
 * product of length K legitimately differs from it by about {@code sqrt(K)} ulps.
 *
 * <p>Slow on purpose (no blocking, no threads): its only job is to be obviously right.
 */
public final class Float64Reference {
    private Float64Reference() {
    }

    /** {@code y[b * rows + r] = sum_c x[b * cols + c] * w(r, c)} in float64. */
    public static double[] matmul(QuantizedTensor q, float[] x, int batch) {
        int rows = q.rows();
        int cols = q.cols();
        checkActivations(x, batch, cols);
        int g = q.scheme().groupSize();
        int gpr = q.groupsPerRow();
        byte[] codes = q.codes();
        float[] scales = q.scales();
        float[] zeros = q.zeros();
        Outliers o = q.outliers();
        double[] y = new double[Math.multiplyExact(batch, rows)];
        double[] w = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int gi = r * gpr + c / g;
                w[c] = (double) scales[gi] * ((codes[r * cols + c] & 0xFF) - (double) zeros[gi]);
            }
            for (int k = o.rowPtr()[r]; k < o.rowPtr()[r + 1]; k++) {
                w[o.colIdx()[k]] += o.residual()[k];
            }
            for (int b = 0; b < batch; b++) {
                y[b * rows + r] = dot(w, x, b * cols);
            }
        }
        return y;
    }

    /** {@code y[b * rows + r] = sum_c x[b * cols + c] * w[r * cols + c]} in float64. */
    public static double[] matmulDense(float[] w, int rows, int cols, float[] x, int batch) {
        if (w.length < (long) rows * cols) {
            throw new IllegalArgumentException(w.length + " weights for " + rows + "x" + cols);
        }
        checkActivations(x, batch, cols);
        double[] y = new double[Math.multiplyExact(batch, rows)];
        double[] row = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                row[c] = w[r * cols + c];
            }
            for (int b = 0; b < batch; b++) {
                y[b * rows + r] = dot(row, x, b * cols);
            }
        }
        return y;
    }

    private static double dot(double[] w, float[] x, int off) {
        double s = 0;
        for (int c = 0; c < w.length; c++) {
            s += w[c] * x[off + c];
        }
        return s;
    }

    private static void checkActivations(float[] x, int batch, int cols) {
        if (batch < 1 || x.length < (long) batch * cols) {
            throw new IllegalArgumentException(x.length + " activations for batch " + batch + " x " + cols);
        }
    }

    /**
     * Norm-wise relative error {@code ||y - ref|| / ||ref||} over the first {@code ref.length} values.
     *
     * <p>Non-finite values are judged, not skipped: where {@code ref} is finite, a non-finite
     * {@code y} makes the error infinite; where {@code ref} is non-finite (a NaN or infinite input),
     * {@code y} must be non-finite too (else the error is infinite) and the position is left out of
     * the norms. A zero reference gives 0 for an all-zero {@code y} and infinity otherwise.
     */
    public static double relativeError(float[] y, double[] ref) {
        if (y.length < ref.length) {
            throw new IllegalArgumentException(y.length + " outputs for " + ref.length + " reference values");
        }
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            boolean refFinite = Double.isFinite(ref[i]);
            boolean yFinite = Float.isFinite(y[i]);
            if (!refFinite) {
                if (yFinite) {
                    return Double.POSITIVE_INFINITY;
                }
                continue;
            }
            if (!yFinite) {
                return Double.POSITIVE_INFINITY;
            }
            double d = y[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        if (den == 0) {
            return num == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        return Math.sqrt(num / den);
    }
}
