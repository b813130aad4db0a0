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
 * element, never on which rows share its block, which tile covers it or which thread runs it: every
 * tile of the vector kernel does the same lane-wise fused multiply-adds and the same lane reduction
 * (in a fixed order, see {@link Lanes}) for each of its elements. So results are bit-identical for
 * any split of rows into blocks and any thread count.
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
     * The Vector API at the platform's preferred width, register-blocked: tiles of 4 rows of
     * {@code x} by 4 rows of {@code w} keep 16 accumulators in registers, so each step along
     * {@code in} does 8 vector loads for 16 fused multiply-adds (the previous 4x2 tile did 6 for 8).
     * The outputs are cut into panels of {@link #panelOutputs} weight rows ({@value #PANEL_FLOATS}
     * floats, sized to stay in L2); each panel is read from memory once per call and reused from
     * cache by every 4-row tile of the block, and each tile's rows of {@code x} are reused from L1
     * across the panel's 4-output groups. Leftover rows take 1x4 tiles, leftover outputs 4x1 and
     * 1x1 tiles.
     *
     * <p>Tried and measured slower on the AVX-512 machine this was tuned on: larger tiles (4x5, 4x6,
     * 6x4, 8x3: 20 to 24 accumulators plus the loaded vectors come too close to the 32 vector
     * registers for C2), and cutting {@code in} into L1-sized blocks with each tile's accumulators
     * stored and reloaded between blocks.
     */
    VECTOR {
        @Override
        public void apply(float[] x, float[] w, float[] b, float[] y, int in, int out, int rowStart, int rowEnd) {
            float[] lanes = new float[S.length()];
            float[] acc = new float[16 * S.length()];
            int tileEnd = rowStart + (rowEnd - rowStart) / 4 * 4;
            int groups = out / 4 * 4;
            int panel = panelOutputs(in);
            for (int p0 = 0; p0 < groups; p0 += panel) {
                int p1 = Math.min(groups, p0 + panel);
                for (int r = rowStart; r < tileEnd; r += 4) {
                    for (int o = p0; o < p1; o += 4) {
                        tile4x4(x, w, b, y, in, out, r, o, acc, lanes);
                    }
                }
                for (int r = tileEnd; r < rowEnd; r++) {
                    for (int o = p0; o < p1; o += 4) {
                        tile1x4(x, w, b, y, in, out, r, o, acc, lanes);
                    }
                }
            }
            int o = groups;
            for (; o < out; o++) {
                int r = rowStart;
                for (; r + 4 <= rowEnd; r += 4) {
                    tile4x1(x, w, b, y, in, out, r, o, acc, lanes);
                }
                for (; r < rowEnd; r++) {
                    y[r * out + o] = dot(x, r * in, w, o * in, in, lanes) + b[o];
                }
            }
        }
    };

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Floats of weight rows per panel: 384 KiB, so a panel stays in L2 next to the block's input rows. */
    static final int PANEL_FLOATS = 96 * 1024;

    /** Outputs per panel for rows of {@code in} floats: a multiple of the 4-output tile, at least one tile. */
    static int panelOutputs(int in) {
        return Math.max(4, PANEL_FLOATS / Math.max(1, in) / 4 * 4);
    }

    /**
     * Computes rows {@code [rowStart, rowEnd)} of {@code y = x w^T + b}.
     *
     * @param x {@code [rows, in]} row-major
     * @param w {@code [out, in]} row-major, as HF stores a linear weight
     * @param y {@code [rows, out]} row-major; only the given rows are written
     */
    public abstract void apply(float[] x, float[] w, float[] b, float[] y, int in, int out, int rowStart, int rowEnd);

    /*
     * Every tile below computes each of its elements y[r][o] by the same sequence, whatever the tile: lane-wise fused multiply-adds of x[r][i..] and w[o][i..] over
     * the whole vectors of the row in order of i (lane j accumulates the products at the i = j mod
     * width), the lanes summed first to last by Lanes.sum, scalar fused multiply-adds over the
     * remaining i < in, then + b[o]: the sequence of dot(). It is also the sequence of the kernel
     * before the register-blocked tiles, so the VECTOR results did not change by a bit.
     *
     * The tiles are written out in full (no loops over the accumulators) so that C2 keeps them in
     * vector registers.
     */

    /** y[r..r+3][o..o+3]: the main tile. */
    private static void tile4x4(float[] x, float[] w, float[] b, float[] y, int in, int out, int r, int o,
            float[] acc, float[] lanes) {
        int bound = S.loopBound(in);
        int step = S.length();
        int x0 = r * in;
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        int w0 = o * in;
        int w1 = w0 + in;
        int w2 = w1 + in;
        int w3 = w2 + in;
        FloatVector a00 = FloatVector.zero(S);
        FloatVector a01 = FloatVector.zero(S);
        FloatVector a02 = FloatVector.zero(S);
        FloatVector a03 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S);
        FloatVector a11 = FloatVector.zero(S);
        FloatVector a12 = FloatVector.zero(S);
        FloatVector a13 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S);
        FloatVector a21 = FloatVector.zero(S);
        FloatVector a22 = FloatVector.zero(S);
        FloatVector a23 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S);
        FloatVector a31 = FloatVector.zero(S);
        FloatVector a32 = FloatVector.zero(S);
        FloatVector a33 = FloatVector.zero(S);
        for (int i = 0; i < bound; i += step) {
            FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
            FloatVector v1 = FloatVector.fromArray(S, w, w1 + i);
            FloatVector v2 = FloatVector.fromArray(S, w, w2 + i);
            FloatVector v3 = FloatVector.fromArray(S, w, w3 + i);
            FloatVector u = FloatVector.fromArray(S, x, x0 + i);
            a00 = u.fma(v0, a00);
            a01 = u.fma(v1, a01);
            a02 = u.fma(v2, a02);
            a03 = u.fma(v3, a03);
            u = FloatVector.fromArray(S, x, x1 + i);
            a10 = u.fma(v0, a10);
            a11 = u.fma(v1, a11);
            a12 = u.fma(v2, a12);
            a13 = u.fma(v3, a13);
            u = FloatVector.fromArray(S, x, x2 + i);
            a20 = u.fma(v0, a20);
            a21 = u.fma(v1, a21);
            a22 = u.fma(v2, a22);
            a23 = u.fma(v3, a23);
            u = FloatVector.fromArray(S, x, x3 + i);
            a30 = u.fma(v0, a30);
            a31 = u.fma(v1, a31);
            a32 = u.fma(v2, a32);
            a33 = u.fma(v3, a33);
        }
        a00.intoArray(acc, 0 * step);
        a01.intoArray(acc, 1 * step);
        a02.intoArray(acc, 2 * step);
        a03.intoArray(acc, 3 * step);
        a10.intoArray(acc, 4 * step);
        a11.intoArray(acc, 5 * step);
        a12.intoArray(acc, 6 * step);
        a13.intoArray(acc, 7 * step);
        a20.intoArray(acc, 8 * step);
        a21.intoArray(acc, 9 * step);
        a22.intoArray(acc, 10 * step);
        a23.intoArray(acc, 11 * step);
        a30.intoArray(acc, 12 * step);
        a31.intoArray(acc, 13 * step);
        a32.intoArray(acc, 14 * step);
        a33.intoArray(acc, 15 * step);
        finishTile(x, w, b, y, in, out, r, o, 4, 4, acc, lanes);
    }

    /** y[r][o..o+3]: leftover rows, one at a time. */
    private static void tile1x4(float[] x, float[] w, float[] b, float[] y, int in, int out, int r, int o,
            float[] acc, float[] lanes) {
        int bound = S.loopBound(in);
        int step = S.length();
        int x0 = r * in;
        int w0 = o * in;
        int w1 = w0 + in;
        int w2 = w1 + in;
        int w3 = w2 + in;
        FloatVector a00 = FloatVector.zero(S);
        FloatVector a01 = FloatVector.zero(S);
        FloatVector a02 = FloatVector.zero(S);
        FloatVector a03 = FloatVector.zero(S);
        for (int i = 0; i < bound; i += step) {
            FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
            FloatVector v1 = FloatVector.fromArray(S, w, w1 + i);
            FloatVector v2 = FloatVector.fromArray(S, w, w2 + i);
            FloatVector v3 = FloatVector.fromArray(S, w, w3 + i);
            FloatVector u = FloatVector.fromArray(S, x, x0 + i);
            a00 = u.fma(v0, a00);
            a01 = u.fma(v1, a01);
            a02 = u.fma(v2, a02);
            a03 = u.fma(v3, a03);
        }
        a00.intoArray(acc, 0 * step);
        a01.intoArray(acc, 1 * step);
        a02.intoArray(acc, 2 * step);
        a03.intoArray(acc, 3 * step);
        finishTile(x, w, b, y, in, out, r, o, 1, 4, acc, lanes);
    }

    /** y[r..r+3][o]: leftover outputs, four rows at a time. */
    private static void tile4x1(float[] x, float[] w, float[] b, float[] y, int in, int out, int r, int o,
            float[] acc, float[] lanes) {
        int bound = S.loopBound(in);
        int step = S.length();
        int x0 = r * in;
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        int w0 = o * in;
        FloatVector a00 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S);
        for (int i = 0; i < bound; i += step) {
            FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
            FloatVector u = FloatVector.fromArray(S, x, x0 + i);
            a00 = u.fma(v0, a00);
            u = FloatVector.fromArray(S, x, x1 + i);
            a10 = u.fma(v0, a10);
            u = FloatVector.fromArray(S, x, x2 + i);
            a20 = u.fma(v0, a20);
            u = FloatVector.fromArray(S, x, x3 + i);
            a30 = u.fma(v0, a30);
        }
        a00.intoArray(acc, 0 * step);
        a10.intoArray(acc, 1 * step);
        a20.intoArray(acc, 2 * step);
        a30.intoArray(acc, 3 * step);
        finishTile(x, w, b, y, in, out, r, o, 4, 1, acc, lanes);
    }

    /** One element alone: the reference sequence every tile reproduces. */
    private static float dot(float[] x, int x0, float[] w, int w0, int in, float[] lanes) {
        int bound = S.loopBound(in);
        int step = S.length();
        FloatVector a = FloatVector.zero(S);
        for (int i = 0; i < bound; i += step) {
            a = FloatVector.fromArray(S, x, x0 + i).fma(FloatVector.fromArray(S, w, w0 + i), a);
        }
        float s = Lanes.sum(a, lanes);
        for (int i = bound; i < in; i++) {
            s = Math.fma(x[x0 + i], w[w0 + i], s);
        }
        return s;
    }

    /**
     * Finishes a tile of {@code rows x cols} elements whose accumulators the tile stored in {@code acc}
     * (element (i, j) at vector i * cols + j). Kept out of the tiles: inlined sixteen times, the
     * lane sums and scalar tails made the 4x4 tile so large that C2 stopped inlining some of its
     * Vector API calls, which then ran as slow non-intrinsic Java code.
     */
    private static void finishTile(float[] x, float[] w, float[] b, float[] y, int in, int out, int r, int o, int rows,
            int cols, float[] acc, float[] lanes) {
        int bound = S.loopBound(in);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                float s = Lanes.sum(FloatVector.fromArray(S, acc, (i * cols + j) * S.length()), lanes);
                finish(x, w, b, y, in, out, r + i, o + j, bound, s);
            }
        }
    }

    /** Stores y[r][o] from its summed lanes: the scalar fused multiply-adds over {@code [bound, in)}, then the bias. */
    private static void finish(float[] x, float[] w, float[] b, float[] y, int in, int out, int r, int o,
            int bound, float lanesSum) {
        float s = lanesSum;
        int x0 = r * in;
        int w0 = o * in;
        for (int i = bound; i < in; i++) {
            s = Math.fma(x[x0 + i], w[w0 + i], s);
        }
        y[r * out + o] = s + b[o];
    }
}
