package dev.slimq.quantize.method;

/**
 * The hot loops of every quantizer, over one group {@code x[from, from + n)}: a scalar reference
 * ({@link ScalarKernels}) and a Vector API fast path ({@link VectorKernels}) that must agree bit for bit.
 *
 * <p>Agreement is by construction. Codes are {@code clamp(rint(fma(x, inv, off)), 0, maxCode)}, computed
 * lane-wise with the same correctly rounded operations ({@code fma}, {@code max}, {@code min}, and
 * round-half-even through the magic constant 1.5·2^23). Order-dependent float sums use
 * {@value #PARTIALS} logical partial sums: element {@code i} of the group always goes to partial
 * {@code i mod 16}, accumulated in increasing {@code i}, and the partials are reduced by one fixed
 * pairwise tree. A 256-bit vector path keeps partials 0-7 and 8-15 in two registers; the scalar path
 * keeps them in an array; so the result is the same on every host, whatever its vector width
 * (DESIGN.md section 7: nothing host-dependent in an output). Min and max are exact in any order.
 *
 * <p>Instances are stateless; the scratch space comes from the caller's {@link Workspace}, so one
 * instance serves any number of threads.
 */
abstract sealed class Kernels permits ScalarKernels, VectorKernels {
    /** Logical partial sums per accumulated quantity. */
    static final int PARTIALS = 16;
    /** Adding then subtracting 1.5·2^23 rounds a float in [0, 2^22] to an integer, half to even. */
    static final float MAGIC = 12582912f;

    private static final Kernels BEST = select();

    /** The fast path when the Vector API module is present and 256-bit float vectors are native, else the reference. */
    static Kernels best() {
        return BEST;
    }

    private static Kernels select() {
        // Touch the vector classes only when their module is in the boot layer (--add-modules jdk.incubator.vector).
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return ScalarKernels.INSTANCE;
        }
        Kernels k = VectorKernels.createIfNative();
        return k != null ? k : ScalarKernels.INSTANCE;
    }

    static Kernels scalar() {
        return ScalarKernels.INSTANCE;
    }

    /** Exact minimum and maximum into {@code out[0]}, {@code out[1]} (NaN propagates, so a non-finite result flags bad input). */
    abstract void minMax(float[] x, int from, int n, float[] out);

    /** Σx and Σx² (float partials, reduced in the fixed order) into {@code ws.mom[0..1]}. */
    abstract void moments(float[] x, int from, int n, Workspace ws);

    /**
     * Codes {@code l = clamp(rint(fma(x, inv, off)), 0, maxCode)} and their sums Σl, Σl², Σx·l
     * (the last with {@code fma}) into {@code ws.sums[0..2]}. When {@code n} is not a multiple of 16, the
     * fast path wants {@code x[from + n, from + roundUp(n))} to hold padding whose code is 0 ({@link Group#pad});
     * without it, it falls back to the reference.
     */
    abstract void codeSums(float[] x, int from, int n, float inv, float off, float maxCode, Workspace ws);

    /**
     * The squared error {@code Σ(x − s·(l − z))²} of the codes {@code l = clamp(rint(fma(x, inv, z)), 0, maxCode)}
     * under scale {@code s} and zero {@code z}, each term computed as the dequantization does
     * ({@code x − s·(l − z)} in float, squared with {@code fma}), summed in float partials. Direct residuals
     * keep it accurate when the error is tiny next to the weights, where the closed form from code sums cancels.
     */
    abstract double sse(float[] x, int from, int n, float inv, float s, float z, float maxCode, Workspace ws);

    /** Writes the codes {@code clamp(rint(fma(x, inv, off)), 0, maxCode)} as unsigned bytes to {@code codes[at..]}. */
    abstract void codes(float[] x, int from, int n, float inv, float off, float maxCode, byte[] codes, int at);

    /**
     * Positions {@code i} (relative to {@code from}) with {@code |x − mu| > t}, computed in float: their
     * number, and, when {@code idx} is not null, the positions in ascending order in {@code idx[0..count)}.
     */
    abstract int deviating(float[] x, int from, int n, float mu, float t, int[] idx);

    /** {@code n} rounded up to whole blocks of {@link #PARTIALS}. */
    static int roundUp(int n) {
        return (n + PARTIALS - 1) & -PARTIALS;
    }

    /** The code of one value: the definition every path follows. */
    static float code(float x, float inv, float off, float maxCode) {
        float v = Math.min(Math.max(Math.fma(x, inv, off), 0f), maxCode);
        return (v + MAGIC) - MAGIC;
    }

    /** The fixed pairwise reduction of 16 partials at {@code p[at .. at+16)}: (i, i+8), then (i, i+4), (i, i+2), (0, 1). */
    static double reduce(float[] p, int at) {
        float a0 = p[at] + p[at + 8], a1 = p[at + 1] + p[at + 9], a2 = p[at + 2] + p[at + 10], a3 = p[at + 3] + p[at + 11];
        float a4 = p[at + 4] + p[at + 12], a5 = p[at + 5] + p[at + 13], a6 = p[at + 6] + p[at + 14], a7 = p[at + 7] + p[at + 15];
        float b0 = a0 + a4, b1 = a1 + a5, b2 = a2 + a6, b3 = a3 + a7;
        return (b0 + b2) + (b1 + b3);
    }
}
