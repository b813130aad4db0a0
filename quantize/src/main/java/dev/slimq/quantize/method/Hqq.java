package dev.slimq.quantize.method;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;

/**
 * Half-quadratic quantization (Badri and Shaji, mobiusml/hqq {@code optimize_weights_proximal_legacy}):
 * the scale stays min-max and only the zero is optimized, for a sparsity-promoting {@code ‖W − Ŵ‖_p^p},
 * {@code p < 1}, by half-quadratic splitting. Per group, with the stored scale {@code s} and
 * {@code inv = 1/s}, starting from {@code z = −min·inv}:
 * <pre>
 *   q  = clamp(rint(x·inv + z), 0, maxCode);   r = s·(q − z);   e = x − r
 *   We = sign(e)·max(|e| − |e|^(p−1)/β, 0)          (generalized soft threshold)
 *   z  = mean(q − (x − We)·inv);   β = κ·β
 * </pre>
 * for at most {@code iters} iterations, stopping early when {@code mean|x − r|} stops decreasing.
 *
 * <p>Differences from the reference, all deliberate: the early stop is per group, not per tensor (so
 * rows stay independent); the zero kept is the one with the lowest {@code mean|x − r|} seen (the
 * reference returns the zero updated after the last, non-improving, step); the scale is the stored
 * (dtype-rounded) one from the start, so the zero is optimized for what is stored. In integer-zero
 * mode the starting zero is rounded (the reference's {@code round_zero}), the iteration runs in float,
 * and the result is rounded to an integer in {@code [0, maxCode]} at the end. Symmetric schemes have no
 * zero to optimize and give exactly {@link Rtn}'s result.
 *
 * <p>Per-channel groups longer than {@value #MAX_CHANNEL_GROUP} are refused: with the scale fixed to a
 * whole row's range, hqq collapses there (intel/auto-round: Llama-2-7B W4 per-channel 46.05 vs rtn 55.49).
 *
 * @param p     the norm's exponent (0.7)
 * @param beta  the initial penalty (10)
 * @param kappa the penalty's growth per iteration (1.01)
 * @param iters the iteration limit (20)
 */
public record Hqq(double p, double beta, double kappa, int iters) implements Quantizer {
    /** Longest row accepted as one group. */
    public static final int MAX_CHANNEL_GROUP = 256;

    /** The reference's defaults: p = 0.7, β = 10, κ = 1.01, 20 iterations. */
    public Hqq() {
        this(0.7, 10, 1.01, 20);
    }

    public Hqq {
        if (!(p > 0 && p <= 1) || !(beta > 0) || !(kappa >= 1) || iters < 1) {
            throw new IllegalArgumentException("hqq needs 0 < p <= 1, beta > 0, kappa >= 1, iters >= 1");
        }
    }

    @Override
    public String methodName() {
        return "hqq";
    }

    @Override
    public boolean supports(QuantScheme scheme, int cols) {
        return scheme.groupSize() != cols || cols <= MAX_CHANNEL_GROUP;
    }

    @Override
    public QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme) {
        return quantizeRows(name, w, cols, firstRow, rowCount, scheme, Kernels.best());
    }

    QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme, Kernels k) {
        if (!supports(scheme, cols)) {
            throw new SlimqException(Failure.UNSUPPORTED, name + ": hqq needs groups (it collapses per channel over "
                    + cols + " columns); use --group-size 128 or another method");
        }
        Grid grid = new Grid(scheme);
        float[] mm = new float[2];
        return Rows.run(name, w, cols, firstRow, rowCount, scheme, k, (x, from, n, f) -> {
            k.minMax(x, from, n, mm);
            Rows.requireFinite(name, x, cols, from, n, mm[0], mm[1]);
            grid.minMax(mm[0], mm[1], f);
            grid.settle(f);
            if (!grid.symmetric && f.sq != 0f) {
                optimizeZero(grid, x, from, n, f);
            }
        });
    }

    /** The proximal iteration on the zero of the settled min-max fit {@code f}; leaves the result settled in {@code f}. */
    private void optimizeZero(Grid grid, float[] x, int from, int n, Fit f) {
        float s = f.sq;
        float inv = 1f / s;
        float z = (float) (f.z * (f.s / s));
        if (grid.integerZero) {
            z = (float) Math.rint(z);
        }
        double b = beta;
        double bestErr = Double.POSITIVE_INFINITY;
        float bestZ = z;
        for (int it = 0; it < iters; it++) {
            double sumAbs = 0;
            double sumZ = 0;
            // Below this |e| the soft threshold is exactly 0: |e| − |e|^(p−1)/β < 0  ⇔  |e| < β^(−1/(2−p)).
            double dead = Math.pow(b, -1 / (2 - p)) * (1 - 1e-3);
            for (int i = from; i < from + n; i++) {
                float q = Kernels.code(x[i], inv, z, grid.fMaxCode);
                float e = x[i] - s * (q - z);
                double ae = Math.abs(e);
                double we = ae <= dead ? 0 : Math.copySign(Math.max(ae - StrictMath.pow(ae + 1e-8, p - 1) / b, 0), e);
                sumAbs += ae;
                sumZ += q - (x[i] - we) * inv;
            }
            double err = sumAbs / n;
            if (!(err < bestErr)) {
                break;
            }
            bestErr = err;
            bestZ = z;
            z = (float) (sumZ / n);
            b *= kappa;
        }
        f.s = s;
        f.z = bestZ;
        grid.settle(f);
    }
}
