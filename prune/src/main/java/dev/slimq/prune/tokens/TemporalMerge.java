package dev.slimq.prune.tokens;

import java.util.Arrays;

/**
 * Temporal merging for video, then spatial diversity (after DyCoke, Tao et al., CVPR 2025, and PruneVid,
 * Huang et al., 2024; LightCompress {@code DyCoke} / {@code PruneVid}).
 *
 * <p>Why: LLMC+ finds that temporal redundancy (static background repeated frame after frame) needs its
 * own treatment; spatial methods alone miss it. A token whose cosine to the token at the same position of
 * the previous frame exceeds {@code threshold} merges into it (chains across frames collapse into the
 * earliest frame's token, size-weighted). Only as many merges are made as the budget allows, the most
 * similar first. If more groups than the budget remain, {@link DivPrune}'s max–min selection on the
 * group means picks the budget and the other groups are dropped.
 *
 * @param threshold cosine above which a token counts as a repeat of the previous frame's
 */
public record TemporalMerge(double threshold) implements TokenMethod {
    public TemporalMerge {
        if (!(threshold >= -1 && threshold <= 1)) {
            throw new IllegalArgumentException("threshold must be a cosine in [-1, 1], got " + threshold);
        }
    }

    @Override
    public String name() {
        return "temporal";
    }

    @Override
    public boolean needsFrames() {
        return true;
    }

    @Override
    public int[] group(TokenItem item, int budget) {
        int n = item.tokens();
        int d = item.dim();
        int per = n / item.frames();
        float[] u = TokenMath.unitRows(item.features(), n, d);
        int cand = n - per;
        Integer[] order = new Integer[cand];
        float[] sim = new float[n];
        for (int i = per; i < n; i++) {
            sim[i] = TokenMath.dot(u, i, u, i - per, d);
            order[i - per] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(sim[b], sim[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] parent = new int[n];
        for (int i = 0; i < n; i++) {
            parent[i] = i;
        }
        int merges = 0;
        for (int j = 0; j < cand && merges < n - budget && sim[order[j]] > threshold; j++) {
            parent[order[j]] = order[j] - per;
            merges++;
        }
        int[] groupOf = new int[n];
        for (int i = 0; i < n; i++) {
            groupOf[i] = parent[i] == i ? i : groupOf[parent[i]]; // parents precede children
        }
        int groups = n - merges;
        if (groups == budget) {
            return groupOf;
        }
        Reduction merged = Reduction.of(item, groupOf);
        int[] cands = new int[groups];
        for (int i = 0; i < groups; i++) {
            cands[i] = i;
        }
        float[] mu = TokenMath.unitRows(merged.features(), groups, d);
        int[] pick = TokenMath.maxMinDiverse(mu, d, cands, TokenMath.norms(merged.features(), groups, d), budget);
        boolean[] keep = new boolean[n];
        for (int s : pick) {
            keep[(int) merged.keptIndex()[s]] = true;
        }
        for (int i = 0; i < n; i++) {
            if (!keep[groupOf[i]]) {
                groupOf[i] = -1;
            }
        }
        return groupOf;
    }
}
