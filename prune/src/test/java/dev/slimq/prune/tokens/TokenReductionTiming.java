package dev.slimq.prune.tokens;

import dev.slimq.core.parallel.WorkPool;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Manual timing (issue 7): every method on a generated [8, 576, 1024] F32 tensor at 22.2% (pool at its
 * fixed 25%) on a 2-thread pool. Run with {@code -Dslimq.timing=true} (and {@code taskset -c 0,1}).
 * Tokens are clustered (64 centres plus noise) and laid out as 4 frames of 12×12 where 60% of positions
 * repeat the previous frame with small noise, so merging and temporal methods have something to find.
 */
@EnabledIfSystemProperty(named = "slimq.timing", matches = "true")
class TokenReductionTiming {
    static final int B = 8;
    static final int N = 576;
    static final int D = 1024;
    static final int FRAMES = 4;

    static List<TokenItem> generate() {
        List<TokenItem> items = new ArrayList<>();
        for (int b = 0; b < B; b++) {
            SplittableRandom rng = new SplittableRandom(1000 + b);
            float[][] centres = new float[64][D];
            for (float[] c : centres) {
                for (int k = 0; k < D; k++) {
                    c[k] = (float) rng.nextGaussian();
                }
            }
            int per = N / FRAMES;
            float[] x = new float[N * D];
            float[] s = new float[N];
            for (int i = 0; i < N; i++) {
                boolean repeat = i >= per && rng.nextDouble() < 0.6;
                float[] c = centres[rng.nextInt(64)];
                for (int k = 0; k < D; k++) {
                    x[i * D + k] = repeat ? x[(i - per) * D + k] + (float) (0.05 * rng.nextGaussian()) : c[k] + (float) (0.5 * rng.nextGaussian());
                }
                s[i] = (float) Math.exp(2 * rng.nextGaussian());
            }
            items.add(new TokenItem(b, N, D, x, s, FRAMES));
        }
        return items;
    }

    @Test
    void timeEveryMethod() {
        List<TokenItem> items = generate();
        int k = (int) Math.round(N * 2.0 / 9);
        System.out.printf(Locale.ROOT, "%-10s %5s %9s %9s %9s %9s %9s%n", "method", "K", "reduce_s", "metric_s", "fidelity", "coverage", "attn_err");
        try (WorkPool pool = new WorkPool(2)) {
            for (int rep = 0; rep < 2; rep++) { // the first pass warms the JIT up
                for (String name : TokenMethod.NAMES) {
                    TokenMethod m = TokenMethod.of(name, TokenMethod.Settings.DEFAULTS);
                    int budget = m instanceof GridPool ? GridPool.budgetFor(N, FRAMES) : k;
                    long t0 = System.nanoTime();
                    List<Reduction> rs = pool.map(B, i -> TokenReductionService.reduce(m, items.get(i), budget, false));
                    long t1 = System.nanoTime();
                    List<TokenMetrics> ms = pool.map(B, i -> TokenMetrics.of(items.get(i), rs.get(i)));
                    long t2 = System.nanoTime();
                    if (rep == 1) {
                        System.out.printf(Locale.ROOT, "%-10s %5d %9.3f %9.3f %9.5f %9.5f %9.5f%n", name, budget, (t1 - t0) / 1e9, (t2 - t1) / 1e9,
                                ms.stream().mapToDouble(TokenMetrics::pooledFidelity).average().orElseThrow(),
                                ms.stream().mapToDouble(TokenMetrics::coverage).average().orElseThrow(),
                                ms.stream().mapToDouble(TokenMetrics::attentionError).average().orElseThrow());
                    }
                }
            }
        }
    }
}
