package dev.slimq.quantize.method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.List;
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

    @Test
    void outlierChannelsGetTheFinestGroups() {
        FineQuant.Choice c = FineQuant.choose(outlierChannels(), ROWS, COLS, BASE, new Rtn());
        assertEquals(32, c.scheme().groupSize());
        assertEquals(List.of(COLS, 256, 128, 64, 32), List.copyOf(c.errorByGroupSize().keySet()));
        // Per-channel collapses: several times the finest group's error.
        assertTrue(c.errorByGroupSize().get(COLS) > 4 * c.errorByGroupSize().get(32), c.toString());
    }

    @Test
    void gaussianMatricesKeepCoarseGroupsWhereOutlierMatricesDoNot() {
        // For Gaussian rows the relative error grows about 12-17% per halving of the group count (the range of n
        // samples grows like sqrt(2 ln n)), so τ = 0.10 picks 32 there too; at τ = 0.5 the rule separates them.
        FineQuant.Choice gauss = FineQuant.choose(List.of(Matrices.gaussian(4, ROWS, COLS, 0.02)),
                List.<int[]>of(new int[] {ROWS, COLS}), BASE, new Rtn(), 0.5);
        FineQuant.Choice outl = FineQuant.choose(List.of(outlierChannels()), List.<int[]>of(new int[] {ROWS, COLS}), BASE, new Rtn(), 0.5);
        assertTrue(gauss.scheme().groupSize() >= 256, gauss.toString());
        assertTrue(outl.scheme().groupSize() <= 64, outl.toString());
    }

    @Test
    void theChoiceIsTheLargestWithinToleranceOfTheFinest() {
        float[] w = Matrices.heavyTailed(8, 64, 512);
        for (double tau : new double[] {0, 0.05, 0.1, 0.3, 1, 10}) {
            FineQuant.Choice c = FineQuant.choose(List.of(w), List.<int[]>of(new int[] {64, 512}), BASE, new EasyQuant(), tau);
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
                List.of(new int[] {8, 256}, new int[] {4, 512}), BASE, new Search(), 0.1);
        assertEquals(List.of(256, 128, 64, 32), List.copyOf(c.errorByGroupSize().keySet()));
        // hqq refuses per-channel rows longer than 256.
        c = FineQuant.choose(Matrices.heavyTailed(4, 8, 512), 8, 512, BASE, new Hqq());
        assertEquals(List.of(256, 128, 64, 32), List.copyOf(c.errorByGroupSize().keySet()));
        // Nothing fits.
        SlimqException e = assertThrows(SlimqException.class, () -> FineQuant.choose(List.of(new float[100], new float[50]),
                List.of(new int[] {1, 100}, new int[] {1, 50}), BASE, new Rtn(), 0.1));
        assertEquals(Failure.UNSUPPORTED, e.failure());
    }

    @Test
    void errorIsOverTheWholeFusedGroup() {
        float[] a = Matrices.heavyTailed(5, 16, 256);
        float[] b = Matrices.gaussian(6, 32, 256, 0.05);
        FineQuant.Choice c = FineQuant.choose(List.of(a, b), List.of(new int[] {16, 256}, new int[] {32, 256}), BASE, new Rtn(), 0.1);
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
}
