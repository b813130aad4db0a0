package dev.slimq.prune.tokens;

/**
 * Offline quality checks of one reduction (research notes pruning_tokens.md section 6), computable
 * without the model that consumes the tokens.
 *
 * @param pooledFidelity  cosine between the mean of the original tokens and the size-weighted mean of
 *                        the kept ones: exactly 1 for methods that merge everything, below for pruning
 * @param coverage        mean over original tokens of the best cosine to a kept token (1 when every
 *                        token has an exact representative)
 * @param attentionError  with scores only, else {@code null}: relative error of a probe attention output,
 *                        the score-weighted mean of the tokens against the same over the kept tokens
 *                        with proportional attention: a kept token weighs its size times the geometric
 *                        mean of its members' scores (a merged key is the mean key, so its logit is the
 *                        mean logit, plus log size); 0 when nothing is lost
 */
public record TokenMetrics(double pooledFidelity, double coverage, Double attentionError) {
    public static TokenMetrics of(TokenItem item, Reduction r) {
        int n = item.tokens();
        int d = item.dim();
        int k = r.tokens();
        float[] x = item.features();
        double[] mean = new double[d];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < d; c++) {
                mean[c] += x[i * d + c];
            }
        }
        double[] pooled = new double[d];
        for (int j = 0; j < k; j++) {
            for (int c = 0; c < d; c++) {
                pooled[c] += (double) r.sizes()[j] * r.features()[j * d + c];
            }
        }
        double fidelity = cosine(mean, pooled);

        float[] ux = TokenMath.unitRows(x, n, d);
        float[] uk = TokenMath.unitRows(r.features(), k, d);
        double cover = 0;
        for (int i = 0; i < n; i++) {
            float best = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                best = Math.max(best, TokenMath.dot(ux, i, uk, j, d));
            }
            cover += best;
        }
        cover /= n;

        Double attention = null;
        float[] a = item.scores();
        if (a != null) {
            double[] ref = new double[d];
            double wsum = 0;
            for (int i = 0; i < n; i++) {
                wsum += a[i];
                for (int c = 0; c < d; c++) {
                    ref[c] += (double) a[i] * x[i * d + c];
                }
            }
            // A merged token's key is the mean of its members' keys, so its logit is the mean of their
            // logits: its score is the geometric mean of theirs, times its size (proportional attention).
            double[] logSum = new double[n];
            for (int i = 0; i < n; i++) {
                int g = r.groupOf()[i];
                if (g >= 0) {
                    logSum[g] += Math.log(a[i]);
                }
            }
            double[] red = new double[d];
            double rsum = 0;
            for (int j = 0; j < k; j++) {
                int rep = (int) r.keptIndex()[j];
                double w = r.sizes()[j] * Math.exp(logSum[rep] / r.sizes()[j]);
                rsum += w;
                for (int c = 0; c < d; c++) {
                    red[c] += w * r.features()[j * d + c];
                }
            }
            if (wsum > 0 && rsum > 0) {
                double num = 0;
                double den = 0;
                for (int c = 0; c < d; c++) {
                    double e = ref[c] / wsum - red[c] / rsum;
                    num += e * e;
                    den += (ref[c] / wsum) * (ref[c] / wsum);
                }
                attention = den > 0 ? Math.sqrt(num / den) : 0.0;
            }
        }
        return new TokenMetrics(fidelity, cover, attention);
    }

    private static double cosine(double[] a, double[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int c = 0; c < a.length; c++) {
            ab += a[c] * b[c];
            aa += a[c] * a[c];
            bb += b[c] * b[c];
        }
        return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : (aa == bb ? 1 : 0);
    }
}
