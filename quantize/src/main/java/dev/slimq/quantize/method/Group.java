package dev.slimq.quantize.method;

import java.util.Arrays;

/**
 * One group's participating weights {@code x[from, from + n)} with their extremes and moments, the
 * candidate fits of its sweep, and the state of their alternation. Mutable, reused group after group.
 */
final class Group {
    float[] x;
    int from;
    int n;
    float lo;
    float hi;
    /** Σx and Σx² (from {@link Kernels#moments}). */
    double sx;
    double sxx;
    /** Candidate fits and how many are valid. */
    final Fit[] starts = Fit.array(Grid.MAX_CANDIDATES);
    int count;
    /** Alternation state: each start's current scale and zero, and which starts still move. */
    final double[] s = new double[Grid.MAX_CANDIDATES];
    final double[] z = new double[Grid.MAX_CANDIDATES];
    int active;
    /**
     * Hashes of the code sums Σl, Σl², Σxl the alternation visited in this group (a 64-bit hash stands
     * for the sums: small enough to keep every group of a row in L1, and a collision, should one ever
     * happen, would only end a start early, deterministically).
     */
    private final long[] seen = new long[64];
    private int seenCount;

    /** A padded copy of the weights when their number is not a multiple of 16. */
    private float[] own = new float[0];

    /**
     * Points at {@code x[from, from + n)} and measures it: extremes and moments. When {@code n} is not a
     * multiple of 16, the values are copied and padded with {@link #pad} for {@link Kernels#codeSums}.
     */
    Group measure(Kernels k, float[] x, int from, int n, boolean symmetric, Workspace ws) {
        if (n % Kernels.PARTIALS == 0) {
            return bind(k, x, from, n, symmetric, ws);
        }
        System.arraycopy(x, from, own(n), 0, n);
        return bind(k, own, 0, n, symmetric, ws);
    }

    /**
     * Measures the weights of the group {@code w[base + c0, base + c0 + g)} except the outlier columns
     * {@code idx[first, last)} (ascending, inside the group, fewer than {@code g}): they are copied, in
     * order, to a padded buffer of this group.
     */
    Group measureInliers(Kernels k, float[] w, int base, int c0, int g, int[] idx, int first, int last, boolean symmetric,
                         Workspace ws) {
        float[] buf = own(g);
        int n = 0;
        int start = c0;
        for (int i = first; i < last; i++) {
            System.arraycopy(w, base + start, buf, n, idx[i] - start);
            n += idx[i] - start;
            start = idx[i] + 1;
        }
        System.arraycopy(w, base + start, buf, n, c0 + g - start);
        n += c0 + g - start;
        return bind(k, buf, 0, n, symmetric, ws);
    }

    private float[] own(int n) {
        if (own.length < Kernels.roundUp(n)) {
            own = new float[Kernels.roundUp(n)];
        }
        return own;
    }

    private Group bind(Kernels k, float[] x, int from, int n, boolean symmetric, Workspace ws) {
        this.x = x;
        this.from = from;
        this.n = n;
        k.minMax(x, from, n, ws.minMax);
        lo = ws.minMax[0];
        hi = ws.minMax[1];
        k.moments(x, from, n, ws);
        sx = ws.mom[0];
        sxx = ws.mom[1];
        if (x == own) {
            Arrays.fill(own, n, Kernels.roundUp(n), pad(lo, hi, symmetric));
        }
        count = 0;
        seenCount = 0;
        return this;
    }

    /**
     * Padding whose code is 0 for every scale fitted to this group: the inverse scale is positive when
     * asymmetric and of the sign opposite to the signed extreme when symmetric ({@link Grid#minMax}), so
     * {@code ∓Float.MAX_VALUE} times it lands far below code 0.
     */
    static float pad(float lo, float hi, boolean symmetric) {
        return symmetric && hi > -lo ? Float.MAX_VALUE : -Float.MAX_VALUE;
    }

    /** The valid candidate with the lowest predicted error, or null when there is none. */
    Fit best() {
        Fit b = null;
        for (int i = 0; i < count; i++) {
            if (b == null || starts[i].sse < b.sse) {
                b = starts[i];
            }
        }
        return b;
    }

    /** Records code sums; false when this group's alternation saw them already. */
    boolean remember(double sl, double sll, double sxl) {
        long h = (Double.doubleToLongBits(sl) * 0x9E3779B97F4A7C15L + Double.doubleToLongBits(sll)) * 0xC2B2AE3D27D4EB4FL
                + Double.doubleToLongBits(sxl);
        h = (h ^ h >>> 29) * 0x94D049BB133111EBL;
        h ^= h >>> 32;
        for (int i = 0; i < seenCount; i++) {
            if (seen[i] == h) {
                return false;
            }
        }
        if (seenCount < seen.length) {
            seen[seenCount++] = h;
        }
        return true;
    }
}
