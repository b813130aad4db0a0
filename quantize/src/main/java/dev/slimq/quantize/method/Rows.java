package dev.slimq.quantize.method;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;

/** The row and group loop shared by the methods without outliers, and input checks. */
final class Rows {
    private Rows() {
    }

    /** Fits one group {@code x[from, from + n)} and leaves its settled parameters in {@code out}. */
    @FunctionalInterface
    interface GroupFitter {
        void fit(float[] x, int from, int n, Fit out);
    }

    static void checkShape(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme) {
        if (cols < 1 || firstRow < 0 || rowCount < 0 || (firstRow + (long) rowCount) * cols > w.length) {
            throw new IllegalArgumentException(name + ": rows [" + firstRow + ", " + ((long) firstRow + rowCount) + ") of "
                    + cols + " columns exceed the " + w.length + " weights given");
        }
        scheme.groupsPerRow(cols);
    }

    /** Quantizes the rows group by group with {@code fitter}, writing codes against the settled parameters. */
    static QuantizedTensor run(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme,
                               Kernels k, GroupFitter fitter) {
        checkShape(name, w, cols, firstRow, rowCount, scheme);
        int g = scheme.groupSize();
        int gpr = scheme.groupsPerRow(cols);
        byte[] codes = new byte[Math.multiplyExact(rowCount, cols)];
        float[] scales = new float[Math.multiplyExact(rowCount, gpr)];
        float[] zeros = new float[scales.length];
        float maxCode = scheme.maxCode();
        Fit f = new Fit();
        for (int r = 0; r < rowCount; r++) {
            for (int j = 0; j < gpr; j++) {
                int from = (firstRow + r) * cols + j * g;
                fitter.fit(w, from, g, f);
                k.codes(w, from, g, f.inv(), f.zq, maxCode, codes, r * cols + j * g);
                scales[r * gpr + j] = f.sq;
                zeros[r * gpr + j] = f.zq;
            }
        }
        return new QuantizedTensor(name, rowCount, cols, scheme, codes, scales, zeros, null);
    }

    /**
     * Throws {@link Failure#BAD_INPUT} naming the first non-finite weight of {@code w[from, from + n)}
     * when the extremes {@code lo, hi} of that range are not both finite (min/max propagate NaN).
     */
    static void requireFinite(String name, float[] w, int cols, int from, int n, float lo, float hi) {
        if (Float.isFinite(lo) && Float.isFinite(hi)) {
            return;
        }
        for (int i = from; i < from + n; i++) {
            if (!Float.isFinite(w[i])) {
                throw new SlimqException(Failure.BAD_INPUT,
                        name + ": weight at row " + i / cols + ", col " + i % cols + " is " + w[i]);
            }
        }
    }
}
