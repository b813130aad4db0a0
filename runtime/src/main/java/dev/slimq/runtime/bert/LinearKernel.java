package dev.slimq.runtime.bert;

import dev.slimq.core.compute.Lanes;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code y[r][o] = b[o] + sum_i x[r][i] * w[o][i]} over a block of rows: the matrix product every
 * linear layer of the encoder is. {@link #SCALAR} is the plain loop kept as the reference the tests
 * compare {@link #VECTOR} with.
 *
 * <p>Each output element is computed by one fixed sequence of operations that depends only on the
 * element, never on which rows share its block or which thread runs it: the vector kernel's 4x2 and
 * 4x1 tiles and its one-row tails do the same lane-wise fused multiply-adds and the same lane
 * reduction (in a fixed order, see {@link Lanes}). So results are bit-identical for any split of rows into blocks and any thread count.
 */
public enum LinearKernel {
    /** Sequential float accumulation, one element at a time. */
    SCALAR {
        @Override
        public void apply(float[] x, float[] w, float[] b, float[] y, int in, int out, int rowStart, int rowEnd) {
            for (int r = rowStart; r < rowEnd; r++) {
                int xr = r * in;
                for (int o = 0; o < out; o++) {
                    int wo = o * in;
                    float s = 0;
                    for (int i = 0; i < in; i++) {
                        s += x[xr + i] * w[wo + i];
                    }
                    y[r * out + o] = s + b[o];
                }
            }
        }
    },
    /**
     * The Vector API at the platform's preferred width: tiles of four rows by two outputs (then four
     * rows by one output, and single rows) share each load.
     */
    VECTOR {
        @Override
        public void apply(float[] x, float[] w, float[] b, float[] y, int in, int out, int rowStart, int rowEnd) {
            int bound = S.loopBound(in);
            int step = S.length();
            float[] lanes = new float[step];
            int o = 0;
            // 4 rows x 2 outputs: 6 loads per 8 fused multiply-adds; every element's operations are those of the 4x1 tile below.
            for (; o + 2 <= out && rowEnd - rowStart >= 4; o += 2) {
                int wo = o * in;
                int wp = wo + in;
                int r = rowStart;
                for (; r + 4 <= rowEnd; r += 4) {
                    int x0 = r * in;
                    int x1 = x0 + in;
                    int x2 = x1 + in;
                    int x3 = x2 + in;
                    FloatVector a0 = FloatVector.zero(S);
                    FloatVector a1 = FloatVector.zero(S);
                    FloatVector a2 = FloatVector.zero(S);
                    FloatVector a3 = FloatVector.zero(S);
                    FloatVector c0 = FloatVector.zero(S);
                    FloatVector c1 = FloatVector.zero(S);
                    FloatVector c2 = FloatVector.zero(S);
                    FloatVector c3 = FloatVector.zero(S);
                    int i = 0;
                    for (; i < bound; i += step) {
                        FloatVector wv = FloatVector.fromArray(S, w, wo + i);
                        FloatVector wq = FloatVector.fromArray(S, w, wp + i);
                        FloatVector v0 = FloatVector.fromArray(S, x, x0 + i);
                        FloatVector v1 = FloatVector.fromArray(S, x, x1 + i);
                        FloatVector v2 = FloatVector.fromArray(S, x, x2 + i);
                        FloatVector v3 = FloatVector.fromArray(S, x, x3 + i);
                        a0 = v0.fma(wv, a0);
                        a1 = v1.fma(wv, a1);
                        a2 = v2.fma(wv, a2);
                        a3 = v3.fma(wv, a3);
                        c0 = v0.fma(wq, c0);
                        c1 = v1.fma(wq, c1);
                        c2 = v2.fma(wq, c2);
                        c3 = v3.fma(wq, c3);
                    }
                    float s0 = Lanes.sum(a0, lanes);
                    float s1 = Lanes.sum(a1, lanes);
                    float s2 = Lanes.sum(a2, lanes);
                    float s3 = Lanes.sum(a3, lanes);
                    float t0 = Lanes.sum(c0, lanes);
                    float t1 = Lanes.sum(c1, lanes);
                    float t2 = Lanes.sum(c2, lanes);
                    float t3 = Lanes.sum(c3, lanes);
                    for (; i < in; i++) {
                        float wi = w[wo + i];
                        float wj = w[wp + i];
                        s0 = Math.fma(x[x0 + i], wi, s0);
                        s1 = Math.fma(x[x1 + i], wi, s1);
                        s2 = Math.fma(x[x2 + i], wi, s2);
                        s3 = Math.fma(x[x3 + i], wi, s3);
                        t0 = Math.fma(x[x0 + i], wj, t0);
                        t1 = Math.fma(x[x1 + i], wj, t1);
                        t2 = Math.fma(x[x2 + i], wj, t2);
                        t3 = Math.fma(x[x3 + i], wj, t3);
                    }
                    y[r * out + o] = s0 + b[o];
                    y[(r + 1) * out + o] = s1 + b[o];
                    y[(r + 2) * out + o] = s2 + b[o];
                    y[(r + 3) * out + o] = s3 + b[o];
                    y[r * out + o + 1] = t0 + b[o + 1];
                    y[(r + 1) * out + o + 1] = t1 + b[o + 1];
                    y[(r + 2) * out + o + 1] = t2 + b[o + 1];
                    y[(r + 3) * out + o + 1] = t3 + b[o + 1];
                }
                for (; r < rowEnd; r++) {
                    for (int oo = o; oo < o + 2; oo++) {
                        int x0 = r * in;
                        int wq = oo * in;
                        FloatVector a0 = FloatVector.zero(S);
                        int i = 0;
                        for (; i < bound; i += step) {
                            a0 = FloatVector.fromArray(S, x, x0 + i).fma(FloatVector.fromArray(S, w, wq + i), a0);
                        }
                        float s0 = Lanes.sum(a0, lanes);
                        for (; i < in; i++) {
                            s0 = Math.fma(x[x0 + i], w[wq + i], s0);
                        }
                        y[r * out + oo] = s0 + b[oo];
                    }
                }
            }
            for (; o < out; o++) {
                int wo = o * in;
                int r = rowStart;
                for (; r + 4 <= rowEnd; r += 4) {
                    int x0 = r * in;
                    int x1 = x0 + in;
                    int x2 = x1 + in;
                    int x3 = x2 + in;
                    FloatVector a0 = FloatVector.zero(S);
                    FloatVector a1 = FloatVector.zero(S);
                    FloatVector a2 = FloatVector.zero(S);
                    FloatVector a3 = FloatVector.zero(S);
                    int i = 0;
                    for (; i < bound; i += step) {
                        FloatVector wv = FloatVector.fromArray(S, w, wo + i);
                        a0 = FloatVector.fromArray(S, x, x0 + i).fma(wv, a0);
                        a1 = FloatVector.fromArray(S, x, x1 + i).fma(wv, a1);
                        a2 = FloatVector.fromArray(S, x, x2 + i).fma(wv, a2);
                        a3 = FloatVector.fromArray(S, x, x3 + i).fma(wv, a3);
                    }
                    float s0 = Lanes.sum(a0, lanes);
                    float s1 = Lanes.sum(a1, lanes);
                    float s2 = Lanes.sum(a2, lanes);
                    float s3 = Lanes.sum(a3, lanes);
                    for (; i < in; i++) {
                        float wi = w[wo + i];
                        s0 = Math.fma(x[x0 + i], wi, s0);
                        s1 = Math.fma(x[x1 + i], wi, s1);
                        s2 = Math.fma(x[x2 + i], wi, s2);
                        s3 = Math.fma(x[x3 + i], wi, s3);
                    }
                    y[r * out + o] = s0 + b[o];
                    y[(r + 1) * out + o] = s1 + b[o];
                    y[(r + 2) * out + o] = s2 + b[o];
                    y[(r + 3) * out + o] = s3 + b[o];
                }
                for (; r < rowEnd; r++) {
                    int x0 = r * in;
                    FloatVector a0 = FloatVector.zero(S);
                    int i = 0;
                    for (; i < bound; i += step) {
                        a0 = FloatVector.fromArray(S, x, x0 + i).fma(FloatVector.fromArray(S, w, wo + i), a0);
                    }
                    float s0 = Lanes.sum(a0, lanes);
                    for (; i < in; i++) {
                        s0 = Math.fma(x[x0 + i], w[wo + i], s0);
                    }
                    y[r * out + o] = s0 + b[o];
                }
            }
        }
    };

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;


    /**
     * Computes rows {@code [rowStart, rowEnd)} of {@code y = x w^T + b}.
     *
     * @param x {@code [rows, in]} row-major
     * @param w {@code [out, in]} row-major, as HF stores a linear weight
     * @param y {@code [rows, out]} row-major; only the given rows are written
     */
    public abstract void apply(float[] x, float[] w, float[] b, float[] y, int in, int out, int rowStart, int rowEnd);
}
