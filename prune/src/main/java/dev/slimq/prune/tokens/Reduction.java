package dev.slimq.prune.tokens;

import java.util.Arrays;

/**
 * The reduced tokens of one batch item: {@code K × dim} features, the original position each kept token
 * represents (strictly ascending) and how many original tokens it stands for.
 *
 * <p>Built from a grouping by {@link #of}: each output token is the size-weighted mean of its group,
 * computed from the original features in double precision, so merges that happened in several steps
 * (ToMe rounds, temporal chains) still give the exact group mean. {@code groupOf} is the grouping it was
 * built from (original position → representative position, or -1).
 */
public record Reduction(int tokens, int dim, float[] features, long[] keptIndex, float[] sizes, int[] groupOf) {
    /**
     * @param groupOf for every original token, the position of its group's representative, or -1 when
     *                the token is dropped; a representative must belong to its own group
     */
    public static Reduction of(TokenItem item, int[] groupOf) {
        int n = item.tokens();
        int d = item.dim();
        if (groupOf.length != n) {
            throw new IllegalArgumentException("grouping covers " + groupOf.length + " of " + n + " tokens");
        }
        int[] slot = new int[n];
        Arrays.fill(slot, -1);
        int k = 0;
        for (int i = 0; i < n; i++) {
            int g = groupOf[i];
            if (g >= 0 && groupOf[g] != g) {
                throw new IllegalStateException("token " + i + " joins " + g + ", which is not a representative");
            }
            if (g == i) {
                slot[i] = k++;
            }
        }
        double[] sum = new double[k * d];
        float[] sizes = new float[k];
        long[] kept = new long[k];
        for (int i = 0; i < n; i++) {
            int g = groupOf[i];
            if (g < 0) {
                continue;
            }
            int s = slot[g];
            sizes[s]++;
            kept[s] = g;
            float[] x = item.features();
            for (int c = 0; c < d; c++) {
                sum[s * d + c] += x[i * d + c];
            }
        }
        float[] out = new float[k * d];
        for (int s = 0; s < k; s++) {
            for (int c = 0; c < d; c++) {
                out[s * d + c] = (float) (sum[s * d + c] / sizes[s]);
            }
        }
        return new Reduction(k, d, out, kept, sizes, groupOf.clone());
    }
}
