package dev.slimq.prune.tokens;

/**
 * VisionZip — dominant plus contextual tokens (Yang et al., "VisionZip: Longer is Better but Not
 * Necessary in Vision Language Models", CVPR 2025; LightCompress {@code VisionZip}).
 *
 * <p>Why: a few tokens receive most of the [CLS] attention and carry most of the information; the rest
 * is summarized rather than dropped. Dominant tokens are the top by score; of the others, {@code
 * contextual} targets are sampled uniformly by position and every remaining token merges into its most
 * cosine-similar target (the original uses keys; here the features). Since nothing is dropped, the
 * size-weighted mean of the output equals the input mean.
 *
 * @param contextual number of contextual tokens; 0 picks LightCompress's proportion (30 of 192, i.e.
 *                   5/32 of the budget, at least 1)
 */
public record VisionZip(int contextual) implements TokenMethod {
    public VisionZip {
        if (contextual < 0) {
            throw new IllegalArgumentException("contextual tokens must not be negative, got " + contextual);
        }
    }

    @Override
    public String name() {
        return "visionzip";
    }

    @Override
    public boolean needsScores() {
        return true;
    }

    /** Contextual tokens used for {@code budget}. */
    public int contextualFor(int budget) {
        int c = contextual > 0 ? contextual : (int) Math.max(1, Math.round(budget * 5.0 / 32));
        return Math.min(c, budget);
    }

    @Override
    public int[] group(TokenItem item, int budget) {
        int n = item.tokens();
        int d = item.dim();
        int c = contextualFor(budget);
        int[] dominant = TokenMath.topK(item.scores(), budget - c);
        int[] g = TokenMath.keepOnly(n, dominant);
        int[] rest = new int[n - dominant.length];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (g[i] < 0) {
                rest[m++] = i;
            }
        }
        if (m == 0) {
            return g;
        }
        int[] target = new int[c];
        for (int j = 0; j < c; j++) {
            target[j] = rest[(int) ((long) j * m / c)];
            g[target[j]] = target[j];
        }
        float[] u = TokenMath.unitRows(item.features(), n, d);
        for (int i : rest) {
            if (g[i] >= 0) {
                continue;
            }
            int best = target[0];
            float bestSim = Float.NEGATIVE_INFINITY;
            for (int t : target) {
                float s = TokenMath.dot(u, i, u, t, d);
                if (s > bestSim) {
                    bestSim = s;
                    best = t;
                }
            }
            g[i] = best;
        }
        return g;
    }
}
