package dev.slimq.prune.tokens;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * ToMe — bipartite soft matching (Bolya et al., "Token Merging: Your ViT But Faster", ICLR 2023;
 * LightCompress {@code ToMe}).
 *
 * <p>Why: merging instead of dropping keeps every token's contribution (size-weighted averages, so the
 * pooled mean is unchanged), and bipartite matching avoids the quadratic clustering a full merge would
 * need. One round: tokens (in position order) alternate into sets A and B; every A token finds its most
 * cosine-similar B token; the r A tokens with the highest such similarity merge into their match. A round
 * merges at most half the tokens, so rounds repeat until the budget is met. A merged token keeps the
 * position of its B token. The paper's proportional attention (log size added to attention logits) is
 * what {@link Reduction#sizes()} is for.
 */
public record ToMe() implements TokenMethod {
    @Override
    public String name() {
        return "tome";
    }

    @Override
    public int[] group(TokenItem item, int budget) {
        int n = item.tokens();
        int d = item.dim();
        int[] parent = new int[n];
        for (int i = 0; i < n; i++) {
            parent[i] = i;
        }
        // Current tokens: representative position, size and size-weighted mean feature.
        List<Integer> reps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            reps.add(i);
        }
        float[] feat = item.features().clone();
        float[] size = new float[n];
        Arrays.fill(size, 1f);
        while (reps.size() > budget) {
            int m = reps.size();
            int na = (m + 1) / 2;
            int nb = m / 2;
            int r = Math.min(m - budget, Math.min(na, m / 2));
            float[] ua = new float[na * d];
            float[] ub = new float[nb * d];
            for (int j = 0; j < m; j++) {
                float[] dst = (j & 1) == 0 ? ua : ub;
                System.arraycopy(feat, reps.get(j) * d, dst, (j >> 1) * d, d);
            }
            ua = TokenMath.unitRows(ua, na, d);
            ub = TokenMath.unitRows(ub, nb, d);
            int[] match = new int[na];
            float[] score = new float[na];
            for (int a = 0; a < na; a++) {
                int best = 0;
                float bestSim = Float.NEGATIVE_INFINITY;
                for (int b = 0; b < nb; b++) {
                    float s = TokenMath.dot(ua, a, ub, b, d);
                    if (s > bestSim) {
                        bestSim = s;
                        best = b;
                    }
                }
                match[a] = best;
                score[a] = bestSim;
            }
            int[] merged = topKByScore(score, r);
            boolean[] gone = new boolean[m];
            for (int a : merged) {
                int src = reps.get(2 * a);
                int dst = reps.get(2 * match[a] + 1);
                float s = size[src] + size[dst];
                for (int c = 0; c < d; c++) {
                    feat[dst * d + c] = (feat[dst * d + c] * size[dst] + feat[src * d + c] * size[src]) / s;
                }
                size[dst] = s;
                parent[src] = dst;
                gone[2 * a] = true;
            }
            List<Integer> next = new ArrayList<>(m - r);
            for (int j = 0; j < m; j++) {
                if (!gone[j]) {
                    next.add(reps.get(j));
                }
            }
            reps = next;
        }
        int[] groupOf = new int[n];
        for (int i = 0; i < n; i++) {
            int g = i;
            while (parent[g] != g) {
                g = parent[g];
            }
            groupOf[i] = g;
        }
        return groupOf;
    }

    /** The {@code r} A tokens with the highest match similarity, in merge order (highest first, ties by position). */
    private static int[] topKByScore(float[] score, int r) {
        Integer[] order = new Integer[score.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(score[b], score[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            out[i] = order[i];
        }
        return out;
    }
}
