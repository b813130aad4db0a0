package dev.slimq.quantize.method;

import java.util.Arrays;

/** The reference: one element at a time, partial {@code i mod 16} for element {@code i}. */
final class ScalarKernels extends Kernels {
    static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {
    }

    @Override
    void minMax(float[] x, int from, int n, float[] out) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (int i = from; i < from + n; i++) {
            lo = Math.min(lo, x[i]);
            hi = Math.max(hi, x[i]);
        }
        out[0] = lo;
        out[1] = hi;
    }

    @Override
    void moments(float[] x, int from, int n, Workspace ws) {
        float[] p = ws.partials;
        Arrays.fill(p, 0, 2 * PARTIALS, 0f);
        for (int i = 0; i < n; i++) {
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
        float[] p = ws.partials;
        Arrays.fill(p, 0f);
        for (int i = 0; i < n; i++) {
            float v = x[from + i];
            float l = code(v, inv, off, maxCode);
            int j = i & (PARTIALS - 1);
            p[j] += l;
            p[PARTIALS + j] = Math.fma(l, l, p[PARTIALS + j]);
            p[2 * PARTIALS + j] = Math.fma(v, l, p[2 * PARTIALS + j]);
        }
        ws.sums[0] = reduce(p, 0);
        ws.sums[1] = reduce(p, PARTIALS);
        ws.sums[2] = reduce(p, 2 * PARTIALS);
    }

    @Override
    double sse(float[] x, int from, int n, float inv, float s, float z, float maxCode, Workspace ws) {
        float[] p = ws.partials;
        Arrays.fill(p, 0, PARTIALS, 0f);
        for (int i = 0; i < n; i++) {
            float v = x[from + i];
            float r = v - s * (code(v, inv, z, maxCode) - z);
            int j = i & (PARTIALS - 1);
            p[j] = Math.fma(r, r, p[j]);
        }
        return reduce(p, 0);
    }

    @Override
    void codes(float[] x, int from, int n, float inv, float off, float maxCode, byte[] codes, int at) {
        for (int i = 0; i < n; i++) {
            codes[at + i] = (byte) (int) code(x[from + i], inv, off, maxCode);
        }
    }

    @Override
    int deviating(float[] x, int from, int n, float mu, float t, int[] idx) {
        return deviating(x, from, n, mu, t, idx, 0, 0);
    }

    /** Appends the deviating positions of {@code x[from, from+n)}, numbered from {@code first}, after {@code count} found so far. */
    int deviating(float[] x, int from, int n, float mu, float t, int[] idx, int count, int first) {
        for (int i = 0; i < n; i++) {
            if (Math.abs(x[from + i] - mu) > t) {
                if (idx != null) {
                    idx[count] = first + i;
                }
                count++;
            }
        }
        return count;
    }
}
