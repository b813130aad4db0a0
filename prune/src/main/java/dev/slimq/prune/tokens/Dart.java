package dev.slimq.prune.tokens;

import java.util.Arrays;

/**
 * DART — duplication-aware token reduction (Wen et al., "Stop Looking for Important Tokens in Multimodal
 * Language Models: Duplication Matters More", 2025; LightCompress {@code DART}).
 *
 * <p>Why: keeping the tokens least similar to a few pivots removes duplicates, which the paper argues
 * matters more than importance scores (88.9% pruned at comparable accuracy). Pivots are the tokens with
 * the largest norms (LightCompress ranks by the key norm; here the features stand in); the remaining
 * budget is split evenly over the pivots, and each pivot in turn (largest norm first) keeps the
 * not-yet-kept tokens with the lowest cosine to it. Text pivots of the original need the prompt and are
 * out of scope for tensors alone.
 *
 * @param pivots how many pivots (at most the budget)
 */
public record Dart(int pivots) implements TokenMethod {
    public Dart {
        if (pivots < 1) {
            throw new IllegalArgumentException("dart needs at least one pivot, got " + pivots);
        }
    }

    @Override
    public String name() {
        return "dart";
    }

    @Override
    public int[] group(TokenItem item, int budget) {
        int n = item.tokens();
        int d = item.dim();
        float[] norms = TokenMath.norms(item.features(), n, d);
        int p = Math.min(pivots, budget);
        Integer[] byNorm = order(n, (a, b) -> {
            int c = Float.compare(norms[b], norms[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        boolean[] kept = new boolean[n];
        int[] pivot = new int[p];
        for (int i = 0; i < p; i++) {
            pivot[i] = byNorm[i];
            kept[pivot[i]] = true;
        }
        float[] u = TokenMath.unitRows(item.features(), n, d);
        int rest = budget - p;
        for (int i = 0; i < p; i++) {
            int quota = rest / p + (i < rest % p ? 1 : 0);
            if (quota == 0) {
                continue;
            }
            int pv = pivot[i];
            float[] sim = new float[n];
            for (int t = 0; t < n; t++) {
                sim[t] = TokenMath.dot(u, t, u, pv, d);
            }
            Integer[] bySim = order(n, (a, b) -> {
                int c = Float.compare(sim[a], sim[b]);
                return c != 0 ? c : Integer.compare(a, b);
            });
            for (int j = 0; j < n && quota > 0; j++) {
                if (!kept[bySim[j]]) {
                    kept[bySim[j]] = true;
                    quota--;
                }
            }
        }
        int[] g = new int[n];
        for (int i = 0; i < n; i++) {
            g[i] = kept[i] ? i : -1;
        }
        return g;
    }

    private static Integer[] order(int n, java.util.Comparator<Integer> cmp) {
        Integer[] o = new Integer[n];
        for (int i = 0; i < n; i++) {
            o[i] = i;
        }
        Arrays.sort(o, cmp);
        return o;
    }
}
