package dev.slimq.prune.tokens;

import java.util.Arrays;

/** Small dense helpers shared by the methods: unit rows, dot products, deterministic top-k. */
final class TokenMath {
    private TokenMath() {
    }

    /** Dot product of rows {@code a} of {@code x} and {@code b} of {@code y}, both {@code d} wide. */
    static float dot(float[] x, int a, float[] y, int b, int d) {
        int i = a * d;
        int j = b * d;
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int k = 0;
        for (; k + 3 < d; k += 4) {
            s0 += x[i + k] * y[j + k];
            s1 += x[i + k + 1] * y[j + k + 1];
            s2 += x[i + k + 2] * y[j + k + 2];
            s3 += x[i + k + 3] * y[j + k + 3];
        }
        for (; k < d; k++) {
            s0 += x[i + k] * y[j + k];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Euclidean norm of every row. */
    static float[] norms(float[] x, int n, int d) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int k = 0; k < d; k++) {
                double v = x[i * d + k];
                s += v * v;
            }
            out[i] = (float) Math.sqrt(s);
        }
        return out;
    }

    /** Rows scaled to unit length (zero rows stay zero, so their cosine to anything is 0). */
    static float[] unitRows(float[] x, int n, int d) {
        float[] norms = norms(x, n, d);
        float[] out = new float[n * d];
        for (int i = 0; i < n; i++) {
            float inv = norms[i] > 0 ? 1f / norms[i] : 0f;
            for (int k = 0; k < d; k++) {
                out[i * d + k] = x[i * d + k] * inv;
            }
        }
        return out;
    }

    /**
     * Positions of the {@code k} largest values, in ascending position order; ties go to the lower
     * position, NaN counts as the smallest value.
     */
    static int[] topK(float[] values, int k) {
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(key(values[b]), key(values[a]));
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = order[i];
        }
        Arrays.sort(out);
        return out;
    }

    private static float key(float v) {
        return Float.isNaN(v) ? Float.NEGATIVE_INFINITY : v;
    }

    /** Grouping that keeps exactly {@code kept} (each its own group) and drops the rest. */
    static int[] keepOnly(int n, int[] kept) {
        int[] g = new int[n];
        Arrays.fill(g, -1);
        for (int i : kept) {
            g[i] = i;
        }
        return g;
    }

    /** Greedy max–min selection of {@code k} rows of unit vectors {@code u} among {@code candidates}. */
    static int[] maxMinDiverse(float[] u, int d, int[] candidates, float[] norms, int k) {
        int m = candidates.length;
        boolean[] taken = new boolean[m];
        float[] minDist = new float[m];
        int first = 0;
        for (int c = 1; c < m; c++) {
            if (norms[c] > norms[first]) {
                first = c;
            }
        }
        Arrays.fill(minDist, Float.POSITIVE_INFINITY);
        int[] out = new int[k];
        int pick = first;
        for (int s = 0; s < k; s++) {
            taken[pick] = true;
            out[s] = candidates[pick];
            int next = -1;
            for (int c = 0; c < m; c++) {
                if (taken[c]) {
                    continue;
                }
                float dist = 1f - dot(u, candidates[c], u, candidates[pick], d);
                if (dist < minDist[c]) {
                    minDist[c] = dist;
                }
                if (next < 0 || minDist[c] > minDist[next]) {
                    next = c;
                }
            }
            pick = next;
        }
        Arrays.sort(out);
        return out;
    }
}
