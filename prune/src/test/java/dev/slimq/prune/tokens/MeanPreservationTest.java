package dev.slimq.prune.tokens;

import static org.junit.jupiter.api.Assertions.assertEquals;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** Size-weighted merging keeps the mean of the tokens, whatever the shape and budget. */
class MeanPreservationTest {
    @Property(tries = 60, seed = "20261130")
    void tomeAndVisionzipKeepTheMean(@ForAll @IntRange(min = 1, max = 70) int n, @ForAll @IntRange(min = 1, max = 9) int d,
                                     @ForAll @IntRange(min = 1, max = 100) int percent, @ForAll @LongRange(min = 0, max = 1000) long seed,
                                     @ForAll boolean keepFirst) {
        TokenItem it = TokenMethodsTest.random(0, n, d, 1, seed);
        int k = Math.max(keepFirst ? 2 : 1, (int) Math.round(n * percent / 100.0));
        if (k > n) {
            return;
        }
        for (TokenMethod m : new TokenMethod[] {new ToMe(), new VisionZip(0)}) {
            Reduction r = TokenReductionService.reduce(m, it, k, keepFirst);
            assertEquals(k, r.tokens());
            float total = 0;
            for (float s : r.sizes()) {
                total += s;
            }
            assertEquals(n, total, m.name());
            TokenMethodsTest.assertMeanPreserved(it, r, m.name() + " n=" + n + " k=" + k);
        }
    }
}
