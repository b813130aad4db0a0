package dev.slimq.quantize.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FineQuantTest {
    private static final QuantScheme BASE = Matrices.asym(4, 128, ZeroMode.FLOAT, DType.F16);
    private static final int ROWS = 128;
    private static final int COLS = 1024;

    /** Gaussian rows with three input channels 60 times larger: every per-channel range is dominated by them. */
    private static float[] outlierChannels() {
        float[] w = Matrices.gaussian(3, ROWS, COLS, 0.02);
        for (int r = 0; r < ROWS; r++) {
            for (int c : new int[] {17, 300, 777}) {
                w[r * COLS + c] *= 60;
            }
        }
        return w;
    }

    /** The bits-aware rule written out independently: smallest log2(e) + bpw, ties to the larger group. */
    private static int bitsAwareByHand(FineQuant.Choice c) {
        int best = -1;
        double bestScore = Double.POSITIVE_INFINITY;
        for (int g : c.errorByGroupSize().keySet()) {
            double e = c.errorByGroupSize().get(g);
            double s = (e == 0 ? Double.NEGATIVE_INFINITY : Math.log(e) / Math.log(2)) + c.bitsPerWeightByGroupSize().get(g);
            if (best < 0 || s < bestScore || (s == bestScore && g > best)) {
                best = g;
                bestScore = s;
            }
        }
        return best;
    }

    @Test
    void outlierChannelsGetTheFinestGroups() {
        // Old rule (tau 0.10): 32. The bits-aware default refines too, but no further than the error pays for.
        FineQuant.Choice old = FineQuant.choose(List.of(outlierChannels()), List.<int[]>of(new int[] {ROWS, COLS}), BASE, new Rtn(),
                new Granularity.Tolerance(0.10));
        assertEquals(32, old.scheme().groupSize());
        FineQuant.Choice c = FineQuant.choose(outlierChannels(), ROWS, COLS, BASE, new Rtn());
        assertEquals(bitsAwareByHand(c), c.scheme().groupSize(), c.toString());
        assertTrue(c.scheme().groupSize() <= 128, c.toString());
        assertEquals(List.of(COLS, 256, 128, 64, 32), List.copyOf(c.errorByGroupSize().keySet()));
        // Per-channel collapses: several times the finest group's error.
        assertTrue(c.errorByGroupSize().get(COLS) > 4 * c.errorByGroupSize().get(32), c.toString());
    }

    @Test
    void gaussianMatricesKeepCoarseGroupsWhereOutlierMatricesDoNot() {
        // For Gaussian rows the relative error grows about 12-17% per halving of the group count (the range of n
        // samples grows like sqrt(2 ln n)), so τ = 0.10 picks 32 there too; at τ = 0.5 the rule separates them.
        FineQuant.Choice gauss = FineQuant.choose(List.of(Matrices.gaussian(4, ROWS, COLS, 0.02)),
                List.<int[]>of(new int[] {ROWS, COLS}), BASE, new Rtn(), new Granularity.Tolerance(0.5));
        FineQuant.Choice outl = FineQuant.choose(List.of(outlierChannels()), List.<int[]>of(new int[] {ROWS, COLS}), BASE, new Rtn(), new Granularity.Tolerance(0.5));
        assertTrue(gauss.scheme().groupSize() >= 256, gauss.toString());
        assertTrue(outl.scheme().groupSize() <= 64, outl.toString());
    }

    @Test
    void theChoiceIsTheLargestWithinToleranceOfTheFinest() {
        float[] w = Matrices.heavyTailed(8, 64, 512);
        for (double tau : new double[] {0, 0.05, 0.1, 0.3, 1, 10}) {
            FineQuant.Choice c = FineQuant.choose(List.of(w), List.<int[]>of(new int[] {64, 512}), BASE, new EasyQuant(), new Granularity.Tolerance(tau));
            double finest = c.errorByGroupSize().get(32);
            int expected = c.errorByGroupSize().entrySet().stream().filter(e -> e.getValue() <= (1 + tau) * finest)
                    .mapToInt(e -> e.getKey()).max().orElseThrow();
            assertEquals(expected, c.scheme().groupSize(), "tau " + tau);
            assertEquals(BASE.withGroupSize(expected), c.scheme());
        }
    }

    @Test
    void candidatesDivideEveryMemberAndSuitTheMethod() {
        // 96 columns: per-channel (96) and 32 only.
        float[] w = Matrices.heavyTailed(1, 8, 96);
        assertEquals(List.of(96, 32), List.copyOf(FineQuant.choose(w, 8, 96, BASE, new Rtn()).errorByGroupSize().keySet()));
        // Members with different columns: no per-channel candidate.
        FineQuant.Choice c = FineQuant.choose(List.of(Matrices.heavyTailed(2, 8, 256), Matrices.heavyTailed(3, 4, 512)),
                List.of(new int[] {8, 256}, new int[] {4, 512}), BASE, new Search(), Granularity.DEFAULT);
        assertEquals(List.of(256, 128, 64, 32), List.copyOf(c.errorByGroupSize().keySet()));
        // hqq refuses per-channel rows longer than 256.
        c = FineQuant.choose(Matrices.heavyTailed(4, 8, 512), 8, 512, BASE, new Hqq());
        assertEquals(List.of(256, 128, 64, 32), List.copyOf(c.errorByGroupSize().keySet()));
        // Nothing fits.
        SlimqException e = assertThrows(SlimqException.class, () -> FineQuant.choose(List.of(new float[100], new float[50]),
                List.of(new int[] {1, 100}, new int[] {1, 50}), BASE, new Rtn(), Granularity.DEFAULT));
        assertEquals(Failure.UNSUPPORTED, e.failure());
    }

    @Test
    void errorIsOverTheWholeFusedGroup() {
        float[] a = Matrices.heavyTailed(5, 16, 256);
        float[] b = Matrices.gaussian(6, 32, 256, 0.05);
        FineQuant.Choice c = FineQuant.choose(List.of(a, b), List.of(new int[] {16, 256}, new int[] {32, 256}), BASE, new Rtn(), Granularity.DEFAULT);
        double err = 0;
        double norm = 0;
        for (float[] w : List.of(a, b)) {
            int rows = w.length / 256;
            err += Matrices.sse(w, new Rtn().quantize("w", w, rows, 256, BASE.withGroupSize(64)));
            for (float v : w) {
                norm += (double) v * v;
            }
        }
        assertEquals(Math.sqrt(err / norm), c.errorByGroupSize().get(64), 1e-12);
    }

    @Test
    void oneOutlierColumnPerGroupOf128GetsAFinerGroup() {
        // Column 5 of every block of 128 is 40 times larger: every 128-wide group (and every row) has its range set by
        // it, while at 64 half the groups and at 32 three quarters are free of it.
        float[] w = Matrices.gaussian(11, ROWS, COLS, 0.02);
        for (int r = 0; r < ROWS; r++) {
            for (int c = 5; c < COLS; c += 128) {
                w[r * COLS + c] *= 40;
            }
        }
        FineQuant.Choice c = FineQuant.choose(w, ROWS, COLS, BASE, new Rtn());
        assertTrue(c.scheme().groupSize() < 128, c.toString());
        assertEquals(bitsAwareByHand(c), c.scheme().groupSize(), c.toString());
    }

    @Test
    void smoothMatricesGetTheCoarsestGroup() {
        // Uniform rows of any width, and Gaussian rows as wide as bge-small's (384) once easyquant has taken the
        // tails out (its outliers and range fit): a finer group cuts the error by less than 2^(its extra bits per
        // weight), so per-channel wins, with every zero and scale storage.
        java.util.Random rnd = new java.util.Random(12);
        float[] uniform = new float[ROWS * COLS];
        for (int i = 0; i < uniform.length; i++) {
            uniform[i] = (float) (0.04 * rnd.nextDouble() - 0.02);
        }
        for (QuantScheme base : List.of(BASE, Matrices.asym(4, 128, ZeroMode.INTEGER, DType.F16),
                new QuantScheme(4, 128, true, ZeroMode.INTEGER, DType.BF16))) {
            FineQuant.Choice g = FineQuant.choose(Matrices.gaussian(12, ROWS, 384, 0.02), ROWS, 384, base, new EasyQuant());
            assertEquals(384, g.scheme().groupSize(), g.toString());
            assertEquals(bitsAwareByHand(g), g.scheme().groupSize(), g.toString());
            FineQuant.Choice u = FineQuant.choose(uniform, ROWS, COLS, base, new Rtn());
            assertEquals(COLS, u.scheme().groupSize(), u.toString());
        }
    }

    @Test
    void wideGaussianRowsStopAtTheGroupWhereTheRangeStopsPaying() {
        // The range of n Gaussian samples grows like sqrt(2 ln n): over 1024-wide rows per-channel costs 16% more error
        // than 256 for 0.09 fewer bits per weight, which does not pay; 32 costs 0.75 bits more than 128 for a 22% cut,
        // which does not either. So neither extreme, and exactly the hand-scored minimum.
        FineQuant.Choice c = FineQuant.choose(Matrices.gaussian(12, ROWS, COLS, 0.02), ROWS, COLS, BASE, new Rtn());
        assertEquals(bitsAwareByHand(c), c.scheme().groupSize(), c.toString());
        assertTrue(c.scheme().groupSize() == 128 || c.scheme().groupSize() == 256, c.toString());
    }

    @Test
    void bitsPerWeightCountCodesScalesAndZerosPerGroup() {
        // 4 code bits + (scale bits + zero bits) / group, by hand: F16 scale + F16 zero = 32 bits per group,
        // F16 scale + 4-bit integer zero = 20, symmetric BF16 scale alone = 16, F32 scale + F32 zero = 64.
        float[] w = Matrices.gaussian(13, 8, COLS, 0.02);
        Map<QuantScheme, double[]> expected = new LinkedHashMap<>();
        expected.put(BASE, new double[] {4.03125, 4.125, 4.25, 4.5, 5.0});
        expected.put(Matrices.asym(4, 128, ZeroMode.INTEGER, DType.F16), new double[] {4.01953125, 4.078125, 4.15625, 4.3125, 4.625});
        expected.put(new QuantScheme(4, 128, true, ZeroMode.INTEGER, DType.BF16), new double[] {4.015625, 4.0625, 4.125, 4.25, 4.5});
        expected.put(Matrices.asym(4, 128, ZeroMode.FLOAT, DType.F32), new double[] {4.0625, 4.25, 4.5, 5.0, 6.0});
        for (Map.Entry<QuantScheme, double[]> e : expected.entrySet()) {
            FineQuant.Choice c = FineQuant.choose(w, 8, COLS, e.getKey(), new Rtn());
            assertEquals(List.of(COLS, 256, 128, 64, 32), List.copyOf(c.bitsPerWeightByGroupSize().keySet()));
            double[] got = c.bitsPerWeightByGroupSize().values().stream().mapToDouble(Double::doubleValue).toArray();
            assertArrayEquals(e.getValue(), got, 1e-12, e.getKey().toString());
        }
        // A fused group with 3-bit codes and members of different heights: 3 + 19/g over all weights.
        FineQuant.Choice c = FineQuant.choose(List.of(Matrices.gaussian(14, 4, 256, 0.02), Matrices.gaussian(15, 12, 256, 0.02)),
                List.of(new int[] {4, 256}, new int[] {12, 256}), Matrices.asym(3, 128, ZeroMode.INTEGER, DType.F16), new Rtn(),
                Granularity.DEFAULT);
        assertArrayEquals(new double[] {3.07421875, 3.1484375, 3.296875, 3.59375},
                c.bitsPerWeightByGroupSize().values().stream().mapToDouble(Double::doubleValue).toArray(), 1e-12);
    }

    @Test
    void exactTiesGoToTheCoarserGroup() {
        // All zeros: every candidate is lossless, so every score is minus infinity; the coarsest must win.
        FineQuant.Choice c = FineQuant.choose(new float[8 * COLS], 8, COLS, BASE, new Rtn());
        assertEquals(COLS, c.scheme().groupSize(), c.toString());
        // Blocks of 64 alternate between {0, 15} (scale 1) and {0, 30} (scale 2): lossless at 64 and 32, both
        // scoring minus infinity, while 128 and per-channel share scale 2 and round 15 to 16. 64 must win.
        float[] w = new float[8 * 256];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % 2) * ((i / 64) % 2 == 0 ? 15f : 30f);
        }
        c = FineQuant.choose(w, 8, 256, BASE, new Rtn());
        assertEquals(0.0, c.errorByGroupSize().get(64));
        assertEquals(0.0, c.errorByGroupSize().get(32));
        assertTrue(c.errorByGroupSize().get(128) > 0, c.toString());
        assertEquals(64, c.scheme().groupSize(), c.toString());
    }

    @Test
    void theChoiceIsTheSameWhateverThreadAsks() throws Exception {
        float[] w = Matrices.heavyTailed(16, 64, 512);
        FineQuant.Choice ref = FineQuant.choose(w, 64, 512, BASE, new EasyQuant());
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
            List<java.util.concurrent.Future<FineQuant.Choice>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                fs.add(pool.submit(() -> FineQuant.choose(w, 64, 512, BASE, new EasyQuant())));
            }
            for (var f : fs) {
                assertEquals(ref, f.get());
            }
        }
    }
}
