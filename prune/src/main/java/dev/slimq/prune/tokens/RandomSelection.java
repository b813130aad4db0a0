package dev.slimq.prune.tokens;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Random baseline (LightCompress {@code RandomPrune}): K tokens chosen uniformly. Why: any method worth
 * running must beat it. Seeded per batch item from {@code seed} and the item's position, so the result
 * does not depend on the thread count.
 */
public record RandomSelection(long seed) implements TokenMethod {
    @Override
    public String name() {
        return "random";
    }

    @Override
    public int[] group(TokenItem item, int budget) {
        int n = item.tokens();
        SplittableRandom rng = new SplittableRandom(seed + 0x9E3779B97F4A7C15L * (item.index() + 1L));
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        for (int i = 0; i < budget; i++) {
            int j = i + rng.nextInt(n - i);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] kept = Arrays.copyOf(perm, budget);
        Arrays.sort(kept);
        return TokenMath.keepOnly(n, kept);
    }
}
