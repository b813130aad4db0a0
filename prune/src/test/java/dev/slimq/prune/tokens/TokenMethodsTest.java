package dev.slimq.prune.tokens;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Hand-computed cases per method, and the invariants every method keeps on seeded random inputs. */
class TokenMethodsTest {
    private static final TokenMethod.Settings S = TokenMethod.Settings.DEFAULTS;

    static TokenItem item(int frames, float[] scores, float[]... rows) {
        int d = rows[0].length;
        float[] x = new float[rows.length * d];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, x, i * d, d);
        }
        return new TokenItem(0, rows.length, d, x, scores, frames);
    }

    static TokenItem random(int index, int n, int d, int frames, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = (float) rng.nextDouble();
        }
        return new TokenItem(index, n, d, x, s, frames);
    }

    private static long[] idx(long... v) {
        return v;
    }

    @Test
    void tomeMergesTheMostSimilarPairFirst() {
        // A = {0, 2}, B = {1, 3}. Best matches: 0 -> 3 (cos 0.9986), 2 -> 1 (cos 0.9939).
        TokenItem it = item(1, null, new float[] {1, 0, 0}, new float[] {0, 1, 0}, new float[] {0, 0.9f, 0.1f}, new float[] {0.95f, 0.05f, 0});
        Reduction r = TokenReductionService.reduce(new ToMe(), it, 3, false);
        assertArrayEquals(idx(1, 2, 3), r.keptIndex());
        assertArrayEquals(new float[] {1, 1, 2}, r.sizes());
        assertArrayEquals(new float[] {0.975f, 0.025f, 0}, java.util.Arrays.copyOfRange(r.features(), 6, 9), 1e-6f);
        Reduction two = TokenReductionService.reduce(new ToMe(), it, 2, false);
        assertArrayEquals(idx(1, 3), two.keptIndex());
        assertArrayEquals(new float[] {2, 2}, two.sizes());
    }

    @Test
    void tomeNeedsSeveralRoundsForSmallBudgets() {
        TokenItem it = random(0, 16, 4, 1, 7);
        Reduction r = TokenReductionService.reduce(new ToMe(), it, 3, false); // 16 -> 8 -> 4 -> 3
        assertEquals(3, r.tokens());
        assertEquals(16f, r.sizes()[0] + r.sizes()[1] + r.sizes()[2]);
    }

    @Test
    void divpruneSeedsWithTheLargestNormThenTheFarthest() {
        TokenItem it = item(1, null, new float[] {1, 0}, new float[] {3, 0}, new float[] {0, 1}, new float[] {1, 1});
        assertArrayEquals(idx(1, 2), TokenReductionService.reduce(new DivPrune(), it, 2, false).keptIndex());
        // Then 3 (min distance 0.293) beats 0 (distance 0 to token 1).
        assertArrayEquals(idx(1, 2, 3), TokenReductionService.reduce(new DivPrune(), it, 3, false).keptIndex());
        Reduction one = TokenReductionService.reduce(new DivPrune(), it, 1, false);
        assertArrayEquals(idx(1), one.keptIndex());
        assertArrayEquals(new float[] {3, 0}, one.features());
    }

    @Test
    void dartKeepsTheTokensLeastSimilarToThePivot() {
        // Pivot: token 2 (largest norm). Least similar to it: token 3 (opposite), then token 0 (orthogonal).
        TokenItem it = item(1, null, new float[] {0, 1}, new float[] {1, 0.1f}, new float[] {5, 0}, new float[] {-1, 0});
        assertArrayEquals(idx(2, 3), TokenReductionService.reduce(new Dart(1), it, 2, false).keptIndex());
        assertArrayEquals(idx(0, 2, 3), TokenReductionService.reduce(new Dart(1), it, 3, false).keptIndex());
        // Two pivots (norms 5 and 1.005: tokens 2 and 1) fill the budget themselves.
        assertArrayEquals(idx(1, 2), TokenReductionService.reduce(new Dart(2), it, 2, false).keptIndex());
    }

    @Test
    void poolAveragesTwoByTwoBlocks() {
        float[][] rows = new float[16][];
        for (int i = 0; i < 16; i++) {
            rows[i] = new float[] {i, 1};
        }
        Reduction r = TokenReductionService.reduce(new GridPool(), item(1, null, rows), 4, false);
        assertArrayEquals(idx(0, 2, 8, 10), r.keptIndex());
        assertArrayEquals(new float[] {4, 4, 4, 4}, r.sizes());
        // Block of 0, 1, 4, 5 -> 2.5; of 10, 11, 14, 15 -> 12.5.
        assertArrayEquals(new float[] {2.5f, 1, 4.5f, 1, 10.5f, 1, 12.5f, 1}, r.features(), 1e-6f);
    }

    @Test
    void poolOnAnOddGridHasSmallerEdgeBlocks() {
        float[][] rows = new float[9][];
        for (int i = 0; i < 9; i++) {
            rows[i] = new float[] {i};
        }
        Reduction r = TokenReductionService.reduce(new GridPool(), item(1, null, rows), 4, false);
        assertArrayEquals(idx(0, 2, 6, 8), r.keptIndex());
        assertArrayEquals(new float[] {4, 2, 2, 1}, r.sizes());
        assertArrayEquals(new float[] {2, 3.5f, 6.5f, 8}, r.features(), 1e-6f);
    }

    @Test
    void fastvAndFastervlmKeepTheTopScores() {
        float[] scores = {0.1f, 0.4f, 0.05f, 0.4f, 0.05f};
        TokenItem it = item(1, scores, new float[] {1}, new float[] {2}, new float[] {3}, new float[] {4}, new float[] {5});
        assertArrayEquals(idx(1, 3), TokenReductionService.reduce(new FastV(), it, 2, false).keptIndex());
        assertArrayEquals(idx(0, 1, 3), TokenReductionService.reduce(new FasterVlm(), it, 3, false).keptIndex());
        // Ties go to the lower position: 2 before 4.
        assertArrayEquals(idx(0, 1, 2, 3), TokenReductionService.reduce(new FastV(), it, 4, false).keptIndex());
    }

    @Test
    void visionzipKeepsDominantTokensAndMergesTheRestIntoContextualOnes() {
        float[] scores = {0.5f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};
        TokenItem it = item(1, scores, new float[] {9, 0}, new float[] {1, 0}, new float[] {0, 1}, new float[] {1, 0.1f},
                new float[] {0.1f, 1}, new float[] {2, 0});
        // One dominant (token 0); contextual targets sampled from {1..5} at 0 and 5/2: tokens 1 and 3.
        Reduction r = TokenReductionService.reduce(new VisionZip(2), it, 3, false);
        assertArrayEquals(idx(0, 1, 3), r.keptIndex());
        // 5 joins 1 (cos 1), 2 and 4 join 3 (cos 0.10 and 0.20 beat 0 and 0.0995).
        assertArrayEquals(new float[] {1, 2, 3}, r.sizes());
    }

    @Test
    void temporalMergesRepeatsOfThePreviousFrame() {
        // Two frames of two tokens; token 2 repeats token 0, token 3 does not repeat token 1.
        TokenItem it = item(2, null, new float[] {1, 0}, new float[] {0, 1}, new float[] {1, 0.01f}, new float[] {1, 1});
        Reduction r = TokenReductionService.reduce(new TemporalMerge(0.9), it, 3, false);
        assertArrayEquals(idx(0, 1, 3), r.keptIndex());
        assertArrayEquals(new float[] {2, 1, 1}, r.sizes());
        assertArrayEquals(new float[] {1, 0.005f}, java.util.Arrays.copyOf(r.features(), 2), 1e-6f);
        // Budget 2: one merge is all there is; DivPrune then picks 2 of the 3 groups.
        assertEquals(2, TokenReductionService.reduce(new TemporalMerge(0.9), it, 2, false).tokens());
    }

    @Test
    void temporalChainsCollapseIntoTheFirstFrame() {
        TokenItem it = item(3, null, new float[] {1, 0}, new float[] {0, 1}, new float[] {1, 0}, new float[] {0, -1}, new float[] {1, 0},
                new float[] {1, 1});
        Reduction r = TokenReductionService.reduce(new TemporalMerge(0.9), it, 4, false);
        assertArrayEquals(idx(0, 1, 3, 5), r.keptIndex());
        assertArrayEquals(new float[] {3, 1, 1, 1}, r.sizes());
    }

    @Test
    void randomIsSeededPerItem() {
        TokenItem a = random(0, 50, 3, 1, 1);
        TokenItem b = random(1, 50, 3, 1, 1);
        long[] ka = TokenReductionService.reduce(new RandomSelection(42), a, 10, false).keptIndex();
        assertArrayEquals(ka, TokenReductionService.reduce(new RandomSelection(42), a, 10, false).keptIndex());
        assertTrue(!java.util.Arrays.equals(ka, TokenReductionService.reduce(new RandomSelection(42), b, 10, false).keptIndex()));
        assertTrue(!java.util.Arrays.equals(ka, TokenReductionService.reduce(new RandomSelection(43), a, 10, false).keptIndex()));
    }

    @Test
    void scoreMethodsRefuseWithoutScores() {
        TokenItem it = item(1, null, new float[] {1}, new float[] {2}, new float[] {3});
        for (String m : List.of("visionzip", "fastv", "fastervlm")) {
            SlimqException e = assertThrows(SlimqException.class, () -> TokenReductionService.reduce(TokenMethod.of(m, S), it, 2, false));
            assertEquals(Failure.UNSUPPORTED, e.failure());
        }
    }

    @Test
    void unknownMethodIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> TokenMethod.of("nope", S));
        assertEquals(TokenMethod.NAMES.size(), TokenMethod.NAMES.stream().map(n -> TokenMethod.of(n, S).name()).distinct().count());
    }

    /** Methods that merge every token into some kept one: sizes sum to the count and the mean survives. */
    private static final List<String> MERGING = List.of("tome", "visionzip", "pool");

    @Test
    void everyMethodKeepsTheInvariantsOnOddShapes() {
        int[][] shapes = {{36, 5, 1}, {37, 3, 1}, {50, 7, 2}, {2, 1, 1}, {18, 4, 2}};
        java.util.Set<String> checked = new java.util.HashSet<>();
        for (int[] sh : shapes) {
            for (boolean keepFirst : new boolean[] {false, true}) {
                int n = sh[0];
                int frames = sh[2];
                if ((n - (keepFirst ? 1 : 0)) % frames != 0) {
                    continue;
                }
                TokenItem it = random(3, n, sh[1], frames, n * 31L + sh[1]);
                for (String name : TokenMethod.NAMES) {
                    TokenMethod m = TokenMethod.of(name, S);
                    var req = new TokenReductionService.Request(m, m instanceof GridPool ? Double.NaN : 0.3, 0, List.of(), null, frames, keepFirst);
                    int k;
                    try {
                        k = TokenReductionService.budget(req, n);
                    } catch (SlimqException e) {
                        assertEquals("pool", name, name + " " + e.getMessage()); // only pool refuses (no square grid)
                        continue;
                    }
                    Reduction r = TokenReductionService.reduce(m, it, k, keepFirst);
                    checked.add(name);
                    String what = name + " n=" + n + " keepFirst=" + keepFirst;
                    assertEquals(k, r.tokens(), what);
                    float total = 0;
                    for (int j = 0; j < k; j++) {
                        assertTrue(r.sizes()[j] >= 1, what);
                        total += r.sizes()[j];
                        if (j > 0) {
                            assertTrue(r.keptIndex()[j] > r.keptIndex()[j - 1], what + " ascending");
                        }
                    }
                    if (keepFirst) {
                        assertEquals(0, r.keptIndex()[0], what);
                        assertEquals(1f, r.sizes()[0], what);
                    }
                    if (MERGING.contains(name)) {
                        assertEquals(n, total, what);
                        assertMeanPreserved(it, r, what);
                        assertEquals(1.0, TokenMetrics.of(it, r).pooledFidelity(), 1e-6, what);
                    }
                }
            }
        }
        assertEquals(new java.util.HashSet<>(TokenMethod.NAMES), checked);
    }

    static void assertMeanPreserved(TokenItem it, Reduction r, String what) {
        int d = it.dim();
        for (int c = 0; c < d; c++) {
            double in = 0;
            for (int i = 0; i < it.tokens(); i++) {
                in += it.features()[i * d + c];
            }
            double out = 0;
            for (int j = 0; j < r.tokens(); j++) {
                out += (double) r.sizes()[j] * r.features()[j * d + c];
            }
            assertEquals(in / it.tokens(), out / it.tokens(), 1e-6, what + " mean of channel " + c);
        }
    }

    @Test
    void metricsAreExactWhenNothingIsLost() {
        TokenItem it = random(0, 10, 4, 1, 3);
        Reduction all = TokenReductionService.reduce(new FastV(), it, 10, false);
        TokenMetrics m = TokenMetrics.of(it, all);
        assertEquals(1.0, m.pooledFidelity(), 1e-9);
        assertEquals(1.0, m.coverage(), 1e-6);
        assertEquals(0.0, m.attentionError(), 1e-9);
        TokenMetrics pruned = TokenMetrics.of(it, TokenReductionService.reduce(new FastV(), it, 3, false));
        assertTrue(pruned.coverage() < 1 && pruned.attentionError() > 0);
        assertEquals(null, TokenMetrics.of(item(1, null, new float[] {1}), all.tokens() == 0 ? null : Reduction.of(item(1, null, new float[] {1}), new int[] {0})).attentionError());
    }
}
