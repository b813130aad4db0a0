package dev.slimq.core.stats;

import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tensor.TensorView;
import java.util.List;
import java.util.function.LongConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Computes {@link TensorStats} over a mapped tensor, streaming and in parallel.
 *
 * <p>The tensor is cut into blocks of {@value #BLOCK} elements (independent of the thread count).
 * Pass one gives each block its count, shifted sums, min and max; blocks combine in order with
 * Chan's parallel formula, in double precision, so results are identical for any number of threads.
 * Pass two counts values beyond three standard deviations. Values are decoded in chunks of
 * {@value #CHUNK} floats and reduced with the Vector API; each chunk's squared deviations are summed
 * around its own mean (found in a first pass over the cached chunk), which keeps float partial sums
 * accurate when the mean is far from zero (norm weights near 1) or a value is an outlier. A chunk
 * holding NaN or infinity takes the scalar path, which excludes them.
 */
public final class StatsCalculator {
    static final int BLOCK = 1 << 20;
    static final int CHUNK = 4096;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private StatsCalculator() {
    }

    /** Partial moments of one block (or of several combined). */
    record Moments(long n, double mean, double m2, double min, double max, long nan, long inf) {
        static final Moments EMPTY = new Moments(0, 0, 0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0, 0);

        Moments plus(Moments o) {
            if (o.n == 0) {
                return new Moments(n, mean, m2, min, max, nan + o.nan, inf + o.inf);
            }
            if (n == 0) {
                return new Moments(o.n, o.mean, o.m2, o.min, o.max, nan + o.nan, inf + o.inf);
            }
            long total = n + o.n;
            double delta = o.mean - mean;
            double newMean = mean + delta * o.n / total;
            double newM2 = m2 + o.m2 + delta * delta * ((double) n * o.n / total);
            return new Moments(total, newMean, newM2, Math.min(min, o.min), Math.max(max, o.max), nan + o.nan, inf + o.inf);
        }
    }

    /** Statistics of every element of {@code view}; {@code progress} receives element counts. */
    public static TensorStats compute(TensorView view, WorkPool pool, LongConsumer progress) {
        long count = view.elementCount();
        int blocks = (int) ((count + BLOCK - 1) / BLOCK);
        List<Moments> parts = pool.map(blocks, b -> {
            long first = (long) b * BLOCK;
            int len = (int) Math.min(BLOCK, count - first);
            Moments m = blockMoments(view, first, len);
            progress.accept(len);
            return m;
        });
        Moments all = Moments.EMPTY;
        for (Moments m : parts) {
            all = all.plus(m);
        }
        double std = all.n == 0 ? Double.NaN : Math.sqrt(all.m2 / all.n);
        double mean = all.n == 0 ? Double.NaN : all.mean;
        long beyond = 0;
        if (all.n > 0) {
            float lo = (float) (mean - 3 * std);
            float hi = (float) (mean + 3 * std);
            boolean hasInf = all.inf > 0;
            for (long c : pool.map(blocks, b -> {
                long first = (long) b * BLOCK;
                return countOutside(view, first, (int) Math.min(BLOCK, count - first), lo, hi, hasInf);
            })) {
                beyond += c;
            }
        }
        double min = all.n == 0 ? Double.NaN : all.min;
        double max = all.n == 0 ? Double.NaN : all.max;
        double absmax = all.n == 0 ? Double.NaN : Math.max(Math.abs(min), Math.abs(max));
        return new TensorStats(count, all.n, min, max, mean, std, absmax,
                all.n == 0 ? 0 : (double) beyond / all.n, all.nan, all.inf);
    }

    private static Moments blockMoments(TensorView view, long first, int len) {
        float[] buf = new float[Math.min(CHUNK, len)];
        Moments acc = Moments.EMPTY;
        for (int off = 0; off < len; off += CHUNK) {
            int n = Math.min(CHUNK, len - off);
            view.readFloats(first + off, buf, 0, n);
            acc = acc.plus(chunkMoments(buf, n));
        }
        return acc;
    }

    /**
     * Moments of {@code x[0..n)}: Vector API fast path, scalar path when non-finite values appear.
     *
     * <p>Two passes over the chunk (it is in cache): the first sums, and finds min and max; the second
     * sums deviations and squared deviations from that first mean, corrected by the (small) sum of
     * deviations. Centering on the chunk's own mean, not on one of its values, keeps float partial sums
     * accurate when the mean is far from zero (norm weights near 1) and when a value is an outlier.
     * Spreads too small for float squares (under 2^-50) take the scalar path as well.
     */
    static Moments chunkMoments(float[] x, int n) {
        FloatVector vsum = FloatVector.zero(S);
        FloatVector vmin = FloatVector.broadcast(S, Float.POSITIVE_INFINITY);
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int bound = S.loopBound(n);
        int i = 0;
        for (; i < bound; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            vsum = vsum.add(v);
            vmin = vmin.min(v);
            vmax = vmax.max(v);
        }
        double sum = sumLanes(vsum);
        double min = vmin.reduceLanes(VectorOperators.MIN);
        double max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            sum += x[i];
            min = Math.min(min, x[i]);
            max = Math.max(max, x[i]);
        }
        // NaN makes min and max NaN; an infinity makes them infinite.
        if (!Double.isFinite(min) || !Double.isFinite(max) || !Double.isFinite(sum)) {
            return scalarMoments(x, n);
        }
        if (min == max) {
            return new Moments(n, min, 0, min, max, 0, 0);
        }
        if (max - min < 0x1p-50) {
            return scalarMoments(x, n);
        }
        float center = (float) (sum / n);
        FloatVector vc = FloatVector.broadcast(S, center);
        FloatVector vs = FloatVector.zero(S);
        FloatVector vss = FloatVector.zero(S);
        for (i = 0; i < bound; i += S.length()) {
            FloatVector d = FloatVector.fromArray(S, x, i).sub(vc);
            vs = vs.add(d);
            vss = d.fma(d, vss);
        }
        double s = sumLanes(vs);
        double ss = sumLanes(vss);
        for (; i < n; i++) {
            double d = x[i] - (double) center;
            s += d;
            ss += d * d;
        }
        if (!Double.isFinite(ss)) {
            return scalarMoments(x, n); // squares beyond float range: spreads over about 1e19
        }
        double mean = center + s / n;
        double m2 = Math.max(0, ss - s * s / n);
        return new Moments(n, mean, m2, min, max, 0, 0);
    }

    /**
     * The lanes of {@code v} summed in lane order, in double. {@code reduceLanes(ADD)} leaves the order
     * to the implementation, and the interpreter and the JIT-compiled intrinsic do differ: results
     * would change with warm-up, hence with run and thread count.
     */
    private static double sumLanes(FloatVector v) {
        double t = 0;
        for (int k = 0; k < S.length(); k++) {
            t += v.lane(k);
        }
        return t;
    }

    /**
     * The reference: Welford's update in double over finite values, NaN and infinities counted.
     * Used for chunks with non-finite values, and by tests against the fast path.
     */
    static Moments scalarMoments(float[] x, int n) {
        long cnt = 0;
        long nan = 0;
        long inf = 0;
        double mean = 0;
        double m2 = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = x[i];
            if (Float.isNaN(v)) {
                nan++;
            } else if (Float.isInfinite(v)) {
                inf++;
            } else {
                cnt++;
                double d = v - mean;
                mean += d / cnt;
                m2 += d * (v - mean);
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        return new Moments(cnt, mean, m2, min, max, nan, inf);
    }

    private static long countOutside(TensorView view, long first, int len, float lo, float hi, boolean hasInf) {
        float[] buf = new float[Math.min(CHUNK, len)];
        long c = 0;
        FloatVector vlo = FloatVector.broadcast(S, lo);
        FloatVector vhi = FloatVector.broadcast(S, hi);
        for (int off = 0; off < len; off += CHUNK) {
            int n = Math.min(CHUNK, len - off);
            view.readFloats(first + off, buf, 0, n);
            int i = 0;
            int bound = S.loopBound(n);
            for (; i < bound; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, buf, i);
                // NaN compares false both ways, so it is never counted; infinities are not finite values
                // and are masked out only when the tensor has any (lo or hi may themselves be infinite).
                VectorMask<Float> out = v.lt(vlo).or(v.compare(VectorOperators.GT, vhi));
                if (hasInf) {
                    out = out.and(v.test(VectorOperators.IS_FINITE));
                }
                c += out.trueCount();
            }
            for (; i < n; i++) {
                float v = buf[i];
                if (Float.isFinite(v) && (v < lo || v > hi)) {
                    c++;
                }
            }
        }
        return c;
    }
}
