package dev.slimq.quantize.method;

import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import java.util.Arrays;

/**
 * EasyQuant (Tang et al., arXiv 2403.02775), data-free: per row, weights far from the row's mean
 * become sparse outliers, and the quantization range of the remaining weights is optimized to minimize
 * their reconstruction error.
 *
 * <h2>Outliers</h2>
 * With the row's mean μ and standard deviation σ (population, from float partial sums), weight
 * {@code w_c} is an outlier when {@code |w_c − μ| > n·σ} (compared in float, {@code n = outlierSigma}).
 * At most {@code k = floor(maxOutlierFraction·cols)} per row: when more pass the test, the {@code k}
 * largest {@code |w − μ|} are kept, ties to the lower column, which is what raising {@code n} until at
 * most {@code k} remain does, made deterministic at ties. {@link #outlierCount} returns that number
 * without quantizing. With {@code keepOutliers}, outliers take no part in fitting their group's range,
 * their code is that of their clamped value, and they are stored as F16 residuals
 * {@code r = f16(w − s·(code − z))} in CSR form, so the reconstruction {@code s·(code − z) + r} is the
 * weight to F16 precision (a residual beyond ±65504 saturates). Without ({@code keepOutliers = false},
 * for formats that cannot store them) every weight takes part and the range is still optimized.
 *
 * <h2>Range</h2>
 * Per group, over the participating weights, a multi-start least-squares search: two starts from
 * the {@link Search} sweep (inverse scales of {@code maxCode ∓ 0.4} steps over the range, each refit by
 * least squares; symmetric {@code (2^(bits−1) − 0.2)} and {@code (2^(bits−1) + 0.9)} steps over the
 * signed extreme), then from each the alternation of "nearest codes" and
 * "least-squares refit of scale and zero", over-relaxed, until its codes stop changing or
 * {@code maxIterations} ({@link Grid#alternate}), keeping the lowest error seen. The winner, rounded to
 * what is stored, is kept only if it beats min-max of the same weights after that rounding. So
 * without outliers easyquant is never worse than {@link Rtn} on any group (up to float rounding of
 * the sums that compare them); with outliers the inliers fit at least as well as their own min-max
 * range does. The groups of a row advance together, which only changes the speed.
 *
 * <p>Why this shape: alternation alone is slow to converge (on bge-small it keeps gaining for 20
 * rounds), and different starts end in different local optima; two starts with over-relaxed
 * alternation reach 21.19 dB mean SQNR on bge-small-en-v1.5's encoder at 4-bit g128 with F16 scales
 * and zeros, against 21.12 for plain alternation from the best of llama.cpp's 21-candidate sweep, in
 * fewer passes.
 *
 * @param outlierSigma       the outlier threshold n in standard deviations (3)
 * @param maxOutlierFraction the cap on outliers per row, as a fraction of the row (0.01)
 * @param keepOutliers       store outliers as residuals (false: range-only mode)
 * @param maxIterations      the limit on rounding/refit alternations per group (20)
 */
public record EasyQuant(double outlierSigma, double maxOutlierFraction, boolean keepOutliers, int maxIterations)
        implements Quantizer {
    /**
     * The two starts, as {@link Grid#sweep} steps: inverse scales of {@code maxCode − 0.4} and
     * {@code maxCode + 0.4} steps over the range; symmetric {@code 2^(bits−1) − 0.2} and {@code + 0.9} over
     * the extreme. Chosen on bge-small-en-v1.5 (4-bit, g128): two well-spread starts reach within 0.01 dB
     * of three at two thirds of the passes.
     */
    private static final int[] STARTS = {6, 14};
    private static final int[] SYM_STARTS = {-2, 9};

    /** The defaults: 3σ, at most 1% of a row, outliers kept, 20 alternations. */
    public EasyQuant() {
        this(3, 0.01, true, 20);
    }

    public EasyQuant {
        if (!(outlierSigma > 0) || !(maxOutlierFraction >= 0 && maxOutlierFraction <= 1) || maxIterations < 0) {
            throw new IllegalArgumentException("easyquant needs outlierSigma > 0, 0 <= maxOutlierFraction <= 1, maxIterations >= 0");
        }
    }

    /** These settings with outliers kept or not. */
    public EasyQuant withOutliers(boolean keep) {
        return new EasyQuant(outlierSigma, maxOutlierFraction, keep, maxIterations);
    }

    @Override
    public String methodName() {
        return "easyquant";
    }

    /**
     * The number of outliers {@link #quantize} stores for this matrix with {@code keepOutliers}: exactly,
     * from two cheap passes per row (moments, count), so output files can be planned before any work.
     */
    public static int outlierCount(float[] w, int rows, int cols, double sigma, double maxFraction) {
        Kernels k = Kernels.best();
        Workspace ws = new Workspace();
        int total = 0;
        for (int r = 0; r < rows; r++) {
            total += outliers(k, w, r * cols, cols, sigma, maxFraction, ws, null);
        }
        return total;
    }

    /** {@link #outlierCount(float[], int, int, double, double)} with these settings (0 in range-only mode). */
    public int outlierCount(float[] w, int rows, int cols) {
        return keepOutliers ? outlierCount(w, rows, cols, outlierSigma, maxOutlierFraction) : 0;
    }

    /**
     * The outliers of the row {@code w[base, base + cols)}: their number, and with {@code idx} their
     * columns in ascending order in {@code idx[0..count)}. NaN statistics (from huge weights) mean none.
     */
    static int outliers(Kernels k, float[] w, int base, int cols, double sigma, double maxFraction, Workspace ws, int[] idx) {
        k.moments(w, base, cols, ws);
        double mean = ws.mom[0] / cols;
        double sd = Math.sqrt(Math.max(ws.mom[1] / cols - mean * mean, 0));
        float mu = (float) mean;
        float t = (float) (sigma * sd);
        int cap = (int) Math.floor(maxFraction * cols);
        int count = k.deviating(w, base, cols, mu, t, idx);
        if (count <= cap || idx == null || cap == 0) {
            return Math.min(count, cap);
        }
        // Keep the cap largest deviations, ties to the lower column: order by key = (deviation desc, column asc),
        // find the cap-th smallest key and keep the columns whose key is at most that, in column order.
        long[] keys = new long[count];
        for (int i = 0; i < count; i++) {
            keys[i] = key(w[base + idx[i]] - mu, idx[i]);
        }
        long last = select(keys, cap - 1);
        int kept = 0;
        for (int i = 0; i < count && kept < cap; i++) {
            if (key(w[base + idx[i]] - mu, idx[i]) <= last) {
                idx[kept++] = idx[i];
            }
        }
        return kept;
    }

    /** Orders deviations descending, then columns ascending; unique per column. */
    private static long key(float deviation, int col) {
        return (long) (Integer.MAX_VALUE - Float.floatToIntBits(Math.abs(deviation))) << 32 | col;
    }

    /** The {@code k}-th smallest of distinct {@code a} (0-based; reorders {@code a}): quickselect, median-of-three pivots. */
    static long select(long[] a, int k) {
        int lo = 0;
        int hi = a.length - 1;
        while (hi > lo) {
            int mid = (lo + hi) >>> 1;
            long p = Math.max(Math.min(a[lo], a[mid]), Math.min(Math.max(a[lo], a[mid]), a[hi]));
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < p) {
                    i++;
                }
                while (a[j] > p) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i++] = a[j];
                    a[j--] = t;
                }
            }
            if (k <= j) {
                hi = j;
            } else if (k >= i) {
                lo = i;
            } else {
                return a[k];
            }
        }
        return a[lo];
    }

    @Override
    public QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme) {
        return quantizeRows(name, w, cols, firstRow, rowCount, scheme, Kernels.best());
    }

    QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme, Kernels k) {
        Rows.checkShape(name, w, cols, firstRow, rowCount, scheme);
        int g = scheme.groupSize();
        int gpr = scheme.groupsPerRow(cols);
        float maxCode = scheme.maxCode();
        byte[] codes = new byte[Math.multiplyExact(rowCount, cols)];
        float[] scales = new float[Math.multiplyExact(rowCount, gpr)];
        float[] zeros = new float[scales.length];
        int[] rowPtr = new int[rowCount + 1];
        int[] colIdx = new int[16];
        float[] residual = new float[16];
        int stored = 0;

        Grid grid = new Grid(scheme);
        Workspace ws = new Workspace();
        Group[] groups = new Group[gpr];
        Arrays.setAll(groups, i -> new Group());
        int[] idx = new int[cols];
        Fit f = new Fit();
        Fit cand = new Fit();
        for (int r = 0; r < rowCount; r++) {
            int base = (firstRow + r) * cols;
            k.minMax(w, base, cols, ws.minMax);
            Rows.requireFinite(name, w, cols, base, cols, ws.minMax[0], ws.minMax[1]);
            int count = keepOutliers ? outliers(k, w, base, cols, outlierSigma, maxOutlierFraction, ws, idx) : 0;
            // Each group's participating weights: all of them in place, or its inliers (copied by the group).
            for (int j = 0, next = 0; j < gpr; j++) {
                int first = next;
                while (next < count && idx[next] < (j + 1) * g) {
                    next++;
                }
                if (first == next || next - first == g) {
                    groups[j].measure(k, w, base + j * g, g, grid.symmetric, ws);
                } else {
                    groups[j].measureInliers(k, w, base, j * g, g, idx, first, next, grid.symmetric, ws);
                }
                grid.sweep(k, groups[j], ws, STARTS, SYM_STARTS);
            }
            grid.alternate(k, groups, gpr, maxIterations, ws, cand);
            for (int j = 0; j < gpr; j++) {
                grid.settleBest(k, groups[j], groups[j].best(), ws, f);
                k.codes(w, base + j * g, g, f.inv(), f.zq, maxCode, codes, r * cols + j * g);
                scales[r * gpr + j] = f.sq;
                zeros[r * gpr + j] = f.zq;
            }
            if (stored + count > colIdx.length) {
                int cap = Math.max(stored + count, 2 * colIdx.length);
                colIdx = Arrays.copyOf(colIdx, cap);
                residual = Arrays.copyOf(residual, cap);
            }
            for (int i = 0; i < count; i++) {
                int c = idx[i];
                int gi = r * gpr + c / g;
                float deq = scales[gi] * ((codes[r * cols + c] & 0xFF) - zeros[gi]);
                colIdx[stored] = c;
                residual[stored++] = Math.clamp(Float.float16ToFloat(Float.floatToFloat16(w[base + c] - deq)), -65504f, 65504f);
            }
            rowPtr[r + 1] = stored;
        }
        Outliers o = stored == 0 ? null : new Outliers(rowPtr, Arrays.copyOf(colIdx, stored), Arrays.copyOf(residual, stored));
        return new QuantizedTensor(name, rowCount, cols, scheme, codes, scales, zeros, o);
    }
}
