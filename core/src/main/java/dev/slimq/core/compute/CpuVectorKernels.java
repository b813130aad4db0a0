package dev.slimq.core.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API loops of {@link CpuBackend.Kind#VECTOR}: prologue-free because the {@link TiledLayout}
 * pads every group to whole tiles of one vector of words. f32 accumulation throughout.
 */
final class CpuVectorKernels {
    /** 512-bit vectors where the CPU has them, else 256-bit (Vector API emulates nothing narrower well). */
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED.length() >= 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> INTS = FLOATS.length() == 16 ? IntVector.SPECIES_512 : IntVector.SPECIES_256;
    private static final int W = FLOATS.length();

    private CpuVectorKernels() {
    }

    /** Rows {@code [r0, r1)} of a quantized product into {@code y}; {@code xp} padded, {@code xs} its chunk (= group) sums. */
    static void quantRows(CpuBackend.QuantWeights w, float[] xp, float[] xs, int batch, int r0, int r1, float[] y) {
        TiledLayout l = w.layout;
        float[] lanes = new float[W]; // once per block of rows: Lanes.sum's store target
        if (batch == 1 && l.width() == W) {
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                gemv4(w, xp, xs, r, y, lanes);
            }
            for (; r < r1; r++) {
                y[r] = gemv1(w, xp, xs, r, lanes);
            }
        } else {
            float[] row = scratch(l.paddedCols());
            int kp = l.paddedCols();
            for (int r = r0; r < r1; r++) {
                dequantizeRow(w, r, row);
                for (int b = 0; b < batch; b++) {
                    y[b * w.rows + r] = dot(row, 0, xp, b * kp, kp, lanes);
                }
            }
        }
    }

    private static float zero(CpuBackend.QuantWeights w, int gi) {
        return w.zeros == null ? w.q.scheme().symmetricZero() : w.zeros[gi];
    }

    private static FloatVector codes(IntVector words, int shift, int mask) {
        return (FloatVector) words.lanewise(VectorOperators.LSHR, shift).and(mask).convert(VectorOperators.I2F, 0);
    }

    /** Four rows sharing every activation load: four independent accumulation chains. */
    private static void gemv4(CpuBackend.QuantWeights w, float[] xp, float[] xs, int r, float[] y, float[] lanes) {
        TiledLayout l = w.layout;
        int bits = l.storedBits();
        int mask = (1 << bits) - 1;
        int per = l.codesPerWord();
        int tile = l.tileCodes();
        int tpg = l.paddedGroup() / tile;
        int wpr = l.wordsPerRow();
        int groups = l.groups();
        int[] words = w.words;
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
        float z0 = 0, z1 = 0, z2 = 0, z3 = 0;
        int o0 = r * wpr, o1 = o0 + wpr, o2 = o1 + wpr, o3 = o2 + wpr;
        for (int gi = 0; gi < groups; gi++) {
            FloatVector d0 = FloatVector.zero(FLOATS), d1 = d0, d2 = d0, d3 = d0;
            for (int t = gi * tpg; t < (gi + 1) * tpg; t++) {
                int wo = t * W;
                IntVector w0 = IntVector.fromArray(INTS, words, o0 + wo);
                IntVector w1 = IntVector.fromArray(INTS, words, o1 + wo);
                IntVector w2 = IntVector.fromArray(INTS, words, o2 + wo);
                IntVector w3 = IntVector.fromArray(INTS, words, o3 + wo);
                int xo = t * tile;
                for (int k = 0; k < per; k++) {
                    FloatVector xv = FloatVector.fromArray(FLOATS, xp, xo + k * W);
                    int sh = bits * k;
                    d0 = codes(w0, sh, mask).fma(xv, d0);
                    d1 = codes(w1, sh, mask).fma(xv, d1);
                    d2 = codes(w2, sh, mask).fma(xv, d2);
                    d3 = codes(w3, sh, mask).fma(xv, d3);
                }
            }
            int g0 = r * groups + gi;
            float xsum = xs[gi];
            float s0 = w.scales[g0], s1 = w.scales[g0 + groups], s2 = w.scales[g0 + 2 * groups], s3 = w.scales[g0 + 3 * groups];
            a0 = d0.fma(FloatVector.broadcast(FLOATS, s0), a0);
            a1 = d1.fma(FloatVector.broadcast(FLOATS, s1), a1);
            a2 = d2.fma(FloatVector.broadcast(FLOATS, s2), a2);
            a3 = d3.fma(FloatVector.broadcast(FLOATS, s3), a3);
            z0 += s0 * zero(w, g0) * xsum;
            z1 += s1 * zero(w, g0 + groups) * xsum;
            z2 += s2 * zero(w, g0 + 2 * groups) * xsum;
            z3 += s3 * zero(w, g0 + 3 * groups) * xsum;
        }
        y[r] = Lanes.sum(a0, lanes) - z0 + residual(w, r, xp, 0);
        y[r + 1] = Lanes.sum(a1, lanes) - z1 + residual(w, r + 1, xp, 0);
        y[r + 2] = Lanes.sum(a2, lanes) - z2 + residual(w, r + 2, xp, 0);
        y[r + 3] = Lanes.sum(a3, lanes) - z3 + residual(w, r + 3, xp, 0);
    }

    private static float gemv1(CpuBackend.QuantWeights w, float[] xp, float[] xs, int r, float[] lanes) {
        TiledLayout l = w.layout;
        int bits = l.storedBits();
        int mask = (1 << bits) - 1;
        int per = l.codesPerWord();
        int tile = l.tileCodes();
        int tpg = l.paddedGroup() / tile;
        int groups = l.groups();
        int o = r * l.wordsPerRow();
        FloatVector acc = FloatVector.zero(FLOATS);
        float zacc = 0;
        for (int gi = 0; gi < groups; gi++) {
            FloatVector d = FloatVector.zero(FLOATS);
            for (int t = gi * tpg; t < (gi + 1) * tpg; t++) {
                IntVector wv = IntVector.fromArray(INTS, w.words, o + t * W);
                for (int k = 0; k < per; k++) {
                    d = codes(wv, bits * k, mask).fma(FloatVector.fromArray(FLOATS, xp, t * tile + k * W), d);
                }
            }
            int g = r * groups + gi;
            acc = d.fma(FloatVector.broadcast(FLOATS, w.scales[g]), acc);
            zacc += w.scales[g] * zero(w, g) * xs[gi];
        }
        return Lanes.sum(acc, lanes) - zacc + residual(w, r, xp, 0);
    }

    private static float residual(CpuBackend.QuantWeights w, int r, float[] xp, int xoff) {
        float s = 0;
        for (int k = w.rowPtr[r]; k < w.rowPtr[r + 1]; k++) {
            s += w.resVal[k] * xp[xoff + w.resCol[k]];
        }
        return s;
    }

    /** Row {@code r} as floats in padded coordinates (padding is 0), residuals added. */
    private static void dequantizeRow(CpuBackend.QuantWeights w, int r, float[] out) {
        TiledLayout l = w.layout;
        int bits = l.storedBits();
        int mask = (1 << bits) - 1;
        int per = l.codesPerWord();
        int tile = l.tileCodes();
        int tpg = l.paddedGroup() / tile;
        int groups = l.groups();
        int o = r * l.wordsPerRow();
        int width = l.width();
        for (int gi = 0; gi < groups; gi++) {
            int g = r * groups + gi;
            float s = w.scales[g];
            float z = zero(w, g);
            for (int t = gi * tpg; t < (gi + 1) * tpg; t++) {
                if (width == W) {
                    IntVector wv = IntVector.fromArray(INTS, w.words, o + t * W);
                    for (int k = 0; k < per; k++) {
                        codes(wv, bits * k, mask).sub(z).mul(s).intoArray(out, t * tile + k * W);
                    }
                } else {
                    // Tiles narrower than a vector (small groups): plain loops.
                    for (int j = 0; j < width; j++) {
                        int word = w.words[o + t * width + j];
                        for (int k = 0; k < per; k++) {
                            out[t * tile + k * width + j] = ((word >>> (bits * k) & mask) - z) * s;
                        }
                    }
                }
            }
            // Padding columns decode to s * (0 - z); they meet zero activations, but keep them 0 so
            // that an infinite scale cannot turn 0 * inf into NaN there.
            for (int j = gi * l.paddedGroup() + l.groupSize(); j < (gi + 1) * l.paddedGroup(); j++) {
                out[j] = 0;
            }
        }
        for (int k = w.rowPtr[r]; k < w.rowPtr[r + 1]; k++) {
            out[w.resCol[k]] += w.resVal[k];
        }
    }

    /** Rows {@code [r0, r1)} of a float product. */
    static void denseRows(CpuBackend.DenseWeights d, float[] x, int batch, int r0, int r1, float[] y) {
        int cols = d.cols;
        float[] row = d.f16 != null ? scratch(cols) : null;
        float[] lanes = new float[W];
        for (int r = r0; r < r1; r++) {
            float[] src = d.f32;
            int off = r * cols;
            if (d.f16 != null) {
                for (int c = 0; c < cols; c++) {
                    row[c] = Float.float16ToFloat(d.f16[off + c]);
                }
                src = row;
                off = 0;
            }
            for (int b = 0; b < batch; b++) {
                y[b * d.rows + r] = dot(src, off, x, b * cols, cols, lanes);
            }
        }
    }

    /** Dot product with two accumulators and a scalar tail; {@code lanes} is {@link Lanes#sum}'s scratch. */
    static float dot(float[] a, int ao, float[] b, int bo, int n, float[] lanes) {
        FloatVector s0 = FloatVector.zero(FLOATS), s1 = s0;
        int i = 0;
        for (; i + 2 * W <= n; i += 2 * W) {
            s0 = FloatVector.fromArray(FLOATS, a, ao + i).fma(FloatVector.fromArray(FLOATS, b, bo + i), s0);
            s1 = FloatVector.fromArray(FLOATS, a, ao + i + W).fma(FloatVector.fromArray(FLOATS, b, bo + i + W), s1);
        }
        float s = Lanes.sum(s0.add(s1), lanes);
        for (; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /** Sum of {@code a[from, to)} with four accumulators: the streaming read of the bandwidth probe. */
    static float sum(float[] a, int from, int to) {
        FloatVector s0 = FloatVector.zero(FLOATS), s1 = s0, s2 = s0, s3 = s0;
        int i = from;
        for (; i + 4 * W <= to; i += 4 * W) {
            s0 = s0.add(FloatVector.fromArray(FLOATS, a, i));
            s1 = s1.add(FloatVector.fromArray(FLOATS, a, i + W));
            s2 = s2.add(FloatVector.fromArray(FLOATS, a, i + 2 * W));
            s3 = s3.add(FloatVector.fromArray(FLOATS, a, i + 3 * W));
        }
        float s = Lanes.sum(s0.add(s1).add(s2.add(s3)));
        for (; i < to; i++) {
            s += a[i];
        }
        return s;
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[n];
            SCRATCH.set(s);
        }
        return s;
    }
}
