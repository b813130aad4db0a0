package dev.slimq.prune.tokens;

/**
 * DivPrune — keep a maximally diverse subset (Alvar et al., "DivPrune: Diversity-based Visual Token
 * Pruning for Large Multimodal Models", CVPR 2025; LightCompress {@code DivPrune}).
 *
 * <p>Why: the max–min diversity problem (MMDP) keeps tokens that cover the feature space, without
 * attention scores and without a prompt, so it holds up in multi-turn use where score-based pruning
 * fails (LLMC+). Greedy farthest-point selection on cosine distance: the first pick is the token with
 * the largest norm (a deterministic seed; the paper's seed is the largest nearest-neighbour distance,
 * which costs a full n² pass), then repeatedly the token whose smallest distance to the kept set is
 * largest; ties go to the lower position.
 */
public record DivPrune() implements TokenMethod {
    @Override
    public String name() {
        return "divprune";
    }

    @Override
    public int[] group(TokenItem item, int budget) {
        int n = item.tokens();
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        float[] u = TokenMath.unitRows(item.features(), n, item.dim());
        int[] kept = TokenMath.maxMinDiverse(u, item.dim(), all, TokenMath.norms(item.features(), n, item.dim()), budget);
        return TokenMath.keepOnly(n, kept);
    }
}
