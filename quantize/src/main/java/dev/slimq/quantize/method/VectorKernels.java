package dev.slimq.quantize.method;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API fast path. Order-dependent sums run on 256-bit vectors, two per quantity: the lanes
 * of {@code a} are partials 0-7 and those of {@code b} partials 8-15 of {@link Kernels}, so each block
 * of 16 elements lands exactly where the reference puts it. A partial last block either reads padding
 * that adds exact zeros ({@link #codeSums}) or continues in the reference's scalar code on the stored
 * partials ({@link #moments}, {@link #sse}); a vector block under a condition would be compiled as cold
 * code and box its vectors. The reduction runs the reference's tree with lane shuffles. Min/max,
 * outlier tests and code writing are order-free and use the widest native species.
 *
 * <p>Measured on one core of an AMD EPYC (Zen 5) with a 4096×4096 matrix: a 128-weight pass of
 * {@link #codeSums} takes about 25 ns, and an easyquant group about 20 of them.
 */
final class VectorKernels extends Kernels {
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Float> FW = FloatVector.SPECIES_PREFERRED;
    /** Bytes with as many lanes as {@link #FW} has floats. */
    private static final VectorSpecies<Byte> BW = VectorSpecies.of(byte.class, VectorShape.forBitSize(FW.length() * 8));

    private VectorKernels() {
    }

    /** An instance when 256-bit float vectors are native on this host, else null. */
    static Kernels createIfNative() {
        return FW.vectorBitSize() >= 256 ? new VectorKernels() : null;
    }

    @Override
    void minMax(float[] x, int from, int n, float[] out) {
        // Two accumulators each: Java's min/max (NaN and -0 aware) take several instructions, so break the chain.
        int step = 2 * FW.length();
        int end = from + n - n % step;
        FloatVector lo0 = FloatVector.broadcast(FW, Float.POSITIVE_INFINITY), lo1 = lo0;
        FloatVector hi0 = FloatVector.broadcast(FW, Float.NEGATIVE_INFINITY), hi1 = hi0;
        for (int i = from; i < end; i += step) {
            FloatVector v0 = FloatVector.fromArray(FW, x, i);
            FloatVector v1 = FloatVector.fromArray(FW, x, i + FW.length());
            lo0 = lo0.min(v0);
            hi0 = hi0.max(v0);
            lo1 = lo1.min(v1);
            hi1 = hi1.max(v1);
        }
        float lo = lo0.min(lo1).reduceLanes(VectorOperators.MIN);
        float hi = hi0.max(hi1).reduceLanes(VectorOperators.MAX);
        for (int i = end; i < from + n; i++) {
            lo = Math.min(lo, x[i]);
            hi = Math.max(hi, x[i]);
        }
        out[0] = lo;
        out[1] = hi;
    }

    @Override
    void moments(float[] x, int from, int n, Workspace ws) {
        int bound = n & -PARTIALS;
        FloatVector sa = FloatVector.zero(F8), sb = sa, qa = sa, qb = sa;
        for (int i = from; i < from + bound; i += PARTIALS) {
            FloatVector xa = FloatVector.fromArray(F8, x, i);
            FloatVector xb = FloatVector.fromArray(F8, x, i + 8);
            sa = sa.add(xa);
            sb = sb.add(xb);
            qa = xa.fma(xa, qa);
            qb = xb.fma(xb, qb);
        }
        // The partials go to memory unconditionally (a conditional vector block would be compiled cold),
        // and a partial last block continues there exactly as in the reference.
        float[] p = ws.partials;
        sa.intoArray(p, 0);
        sb.intoArray(p, 8);
        qa.intoArray(p, PARTIALS);
        qb.intoArray(p, PARTIALS + 8);
        for (int i = bound; i < n; i++) {
            float v = x[from + i];
            int j = i & (PARTIALS - 1);
            p[j] += v;
            p[PARTIALS + j] = Math.fma(v, v, p[PARTIALS + j]);
        }
        ws.mom[0] = reduce(p, 0);
        ws.mom[1] = reduce(p, PARTIALS);
    }

    @Override
    void codeSums(float[] x, int from, int n, float inv, float off, float maxCode, Workspace ws) {
        // The last block may run into padding (see Kernels#codeSums): values whose code is 0 add exactly
        // 0 to Σl, Σl² and Σxl (a finite value times 0 is ±0), so the sums are the reference's. Without
        // such padding, the reference does the work.
        int end = from + roundUp(n);
        if (end != from + n && !padded(x, from + n, end, inv, off, maxCode)) {
            ScalarKernels.INSTANCE.codeSums(x, from, n, inv, off, maxCode, ws);
            return;
        }
        FloatVector vinv = FloatVector.broadcast(F8, inv);
        FloatVector voff = FloatVector.broadcast(F8, off);
        FloatVector vmax = FloatVector.broadcast(F8, maxCode);
        FloatVector magic = FloatVector.broadcast(F8, MAGIC);
        FloatVector zero = FloatVector.zero(F8);
        FloatVector la = zero, lb = zero, qa = zero, qb = zero, xa = zero, xb = zero;
        for (int i = from; i < end; i += PARTIALS) {
            FloatVector va = FloatVector.fromArray(F8, x, i);
            FloatVector vb = FloatVector.fromArray(F8, x, i + 8);
            FloatVector ca = va.fma(vinv, voff).max(zero).min(vmax).add(magic).sub(magic);
            FloatVector cb = vb.fma(vinv, voff).max(zero).min(vmax).add(magic).sub(magic);
            la = la.add(ca);
            lb = lb.add(cb);
            qa = ca.fma(ca, qa);
            qb = cb.fma(cb, qb);
            xa = va.fma(ca, xa);
            xb = vb.fma(cb, xb);
        }
        ws.sums[0] = sum(la, lb);
        ws.sums[1] = sum(qa, qb);
        ws.sums[2] = sum(xa, xb);
    }

    /** Whether {@code x[from, end)} exists and every value there has code 0. */
    private static boolean padded(float[] x, int from, int end, float inv, float off, float maxCode) {
        if (end > x.length) {
            return false;
        }
        for (int i = from; i < end; i++) {
            if (code(x[i], inv, off, maxCode) != 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    double sse(float[] x, int from, int n, float inv, float s, float z, float maxCode, Workspace ws) {
        int bound = n & -PARTIALS;
        FloatVector vinv = FloatVector.broadcast(F8, inv);
        FloatVector vs = FloatVector.broadcast(F8, s);
        FloatVector vz = FloatVector.broadcast(F8, z);
        FloatVector vmax = FloatVector.broadcast(F8, maxCode);
        FloatVector magic = FloatVector.broadcast(F8, MAGIC);
        FloatVector zero = FloatVector.zero(F8);
        FloatVector ea = zero, eb = zero;
        for (int i = from; i < from + bound; i += PARTIALS) {
            FloatVector va = FloatVector.fromArray(F8, x, i);
            FloatVector vb = FloatVector.fromArray(F8, x, i + 8);
            FloatVector ra = va.sub(va.fma(vinv, vz).max(zero).min(vmax).add(magic).sub(magic).sub(vz).mul(vs));
            FloatVector rb = vb.sub(vb.fma(vinv, vz).max(zero).min(vmax).add(magic).sub(magic).sub(vz).mul(vs));
            ea = ra.fma(ra, ea);
            eb = rb.fma(rb, eb);
        }
        // Partials go to memory unconditionally; a partial last block continues there as in the reference.
        float[] p = ws.partials;
        ea.intoArray(p, 0);
        eb.intoArray(p, 8);
        for (int i = bound; i < n; i++) {
            float v = x[from + i];
            float r = v - s * (code(v, inv, z, maxCode) - z);
            int j = i & (PARTIALS - 1);
            p[j] = Math.fma(r, r, p[j]);
        }
        return reduce(p, 0);
    }

    private static final VectorShuffle<Float> HALF = VectorShuffle.fromValues(F8, 4, 5, 6, 7, 0, 1, 2, 3);
    private static final VectorShuffle<Float> QUARTER = VectorShuffle.fromValues(F8, 2, 3, 0, 1, 6, 7, 4, 5);
    private static final VectorShuffle<Float> EIGHTH = VectorShuffle.fromValues(F8, 1, 0, 3, 2, 5, 4, 7, 6);

    /**
     * {@link Kernels#reduce} of partials 0-7 in {@code a} and 8-15 in {@code b}, in registers: lane 0
     * becomes ((p0+p8) + (p4+p12)) + ((p2+p10) + (p6+p14)) + ..., the reference's tree exactly.
     */
    private static double sum(FloatVector a, FloatVector b) {
        FloatVector v = a.add(b);
        v = v.add(v.rearrange(HALF));
        v = v.add(v.rearrange(QUARTER));
        return v.add(v.rearrange(EIGHTH)).lane(0);
    }

    @Override
    void codes(float[] x, int from, int n, float inv, float off, float maxCode, byte[] codes, int at) {
        FloatVector vinv = FloatVector.broadcast(FW, inv);
        FloatVector voff = FloatVector.broadcast(FW, off);
        FloatVector vmax = FloatVector.broadcast(FW, maxCode);
        FloatVector magic = FloatVector.broadcast(FW, MAGIC);
        FloatVector zero = FloatVector.zero(FW);
        int i = 0;
        int bound = FW.loopBound(n);
        for (; i < bound; i += FW.length()) {
            // MAGIC + code, code in [0, 255], is a float in [2^23, 2^24) whose low mantissa byte is the code.
            FloatVector c = FloatVector.fromArray(FW, x, from + i).fma(vinv, voff).max(zero).min(vmax).add(magic);
            ((ByteVector) c.reinterpretAsInts().convertShape(VectorOperators.I2B, BW, 0)).intoArray(codes, at + i);
        }
        for (; i < n; i++) {
            codes[at + i] = (byte) (int) code(x[from + i], inv, off, maxCode);
        }
    }

    @Override
    int deviating(float[] x, int from, int n, float mu, float t, int[] idx) {
        FloatVector vmu = FloatVector.broadcast(FW, mu);
        int count = 0;
        int i = 0;
        int bound = FW.loopBound(n);
        for (; i < bound; i += FW.length()) {
            if (FloatVector.fromArray(FW, x, from + i).sub(vmu).abs().compare(VectorOperators.GT, t).anyTrue()) {
                count = ScalarKernels.INSTANCE.deviating(x, from + i, FW.length(), mu, t, idx, count, i);
            }
        }
        return ScalarKernels.INSTANCE.deviating(x, from + i, n - i, mu, t, idx, count, i);
    }
}
