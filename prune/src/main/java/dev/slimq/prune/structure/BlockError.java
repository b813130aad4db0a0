package dev.slimq.prune.structure;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.tensor.TensorView;
import java.util.SplittableRandom;

/**
 * The report's relative output error of one pruned block on seeded probe inputs:
 * ‖y − y′‖ / ‖y‖ over {@link #PROBES} standard-normal probe vectors (seed {@link #SEED} plus the
 * layer, so the numbers are deterministic and independent of threads).
 *
 * <ul>
 *   <li>MLP: the whole branch without its output bias, y = W_down·act(x), x the probe at the MLP
 *       input; decoders SwiGLU ({@code silu(gate·x) ⊙ (up·x)}), BERT GELU (tanh form) of
 *       {@code intermediate·x + b}; y′ the same with the removed neurons left out.</li>
 *   <li>Attention: the attention output projection (o_proj / attention.output.dense) on probes at
 *       its input, y′ without the removed heads' columns. Attention scores are not modelled (they
 *       need whole sequences), so this is the projection's share of the error.</li>
 * </ul>
 * Bias compensation is not included: it is exact at the mean input, and these probes have mean 0.
 */
final class BlockError {
    static final int PROBES = 4;
    static final long SEED = 0x5EED_0B10CL;

    private BlockError() {
    }

    /** The relative error of group {@code g} with units {@code kept}; 0 when nothing was removed. */
    static double of(Checkpoint ckpt, UnitGroup g, boolean[] kept, boolean encoder) {
        boolean any = false;
        for (boolean k : kept) {
            any |= !k;
        }
        if (!any) {
            return 0;
        }
        SplittableRandom rnd = new SplittableRandom(SEED + g.layer() * 2L + (g.kind() == UnitKind.MLP_NEURON ? 0 : 1));
        UnitGroup.Member out = Importance.consumer(g);
        int n = Math.toIntExact(out.span() * g.count());
        float[][] h = new float[PROBES][n];
        if (g.kind() == UnitKind.MLP_NEURON) {
            UnitGroup.Member first = g.members().get(0);
            int in = Math.toIntExact(first.otherDim());
            float[][] x = probes(rnd, in);
            if (encoder) {
                float[] bias = new float[n];
                try (TensorView b = ckpt.map(g.members().get(1).tensor())) {
                    b.readFloats(0, bias, 0, n);
                }
                float[][] a = project(ckpt, first.tensor(), n, in, x);
                for (int p = 0; p < PROBES; p++) {
                    for (int j = 0; j < n; j++) {
                        h[p][j] = gelu(a[p][j] + bias[j]);
                    }
                }
            } else {
                float[][] gate = project(ckpt, first.tensor(), n, in, x);
                float[][] up = project(ckpt, g.members().get(1).tensor(), n, in, x);
                for (int p = 0; p < PROBES; p++) {
                    for (int j = 0; j < n; j++) {
                        float s = gate[p][j];
                        h[p][j] = s / (1 + (float) Math.exp(-s)) * up[p][j];
                    }
                }
            }
        } else {
            h = probes(rnd, n);
        }
        int rows = Math.toIntExact(out.otherDim());
        double full = 0;
        double diff = 0;
        float[] row = new float[n];
        boolean[] gone = new boolean[n];
        for (int c = 0; c < n; c++) {
            gone[c] = !kept[(int) (c / out.span())];
        }
        try (TensorView v = ckpt.map(out.tensor())) {
            for (int r = 0; r < rows; r++) {
                v.readFloats((long) r * n, row, 0, n);
                for (int p = 0; p < PROBES; p++) {
                    double all = 0;
                    double removed = 0;
                    float[] hp = h[p];
                    for (int c = 0; c < n; c++) {
                        double t = (double) row[c] * hp[c];
                        all += t;
                        if (gone[c]) {
                            removed += t;
                        }
                    }
                    full += all * all;
                    diff += removed * removed;
                }
            }
        }
        return full == 0 ? 0 : Math.sqrt(diff / full);
    }

    private static float[][] probes(SplittableRandom rnd, int width) {
        float[][] x = new float[PROBES][width];
        for (int p = 0; p < PROBES; p++) {
            for (int i = 0; i < width; i++) {
                x[p][i] = (float) gaussian(rnd);
            }
        }
        return x;
    }

    /** Box–Muller, so the probes do not depend on the JDK's nextGaussian algorithm. */
    private static double gaussian(SplittableRandom rnd) {
        double u = 1 - rnd.nextDouble();
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** W·x for every probe, W [rows, in] read row by row; sums in double. */
    private static float[][] project(Checkpoint ckpt, String weight, int rows, int in, float[][] x) {
        float[][] y = new float[PROBES][rows];
        float[] row = new float[in];
        try (TensorView v = ckpt.map(weight)) {
            for (int r = 0; r < rows; r++) {
                v.readFloats((long) r * in, row, 0, in);
                double a0 = 0;
                double a1 = 0;
                double a2 = 0;
                double a3 = 0;
                for (int c = 0; c < in; c++) {
                    double w = row[c];
                    a0 += w * x[0][c];
                    a1 += w * x[1][c];
                    a2 += w * x[2][c];
                    a3 += w * x[3][c];
                }
                y[0][r] = (float) a0;
                y[1][r] = (float) a1;
                y[2][r] = (float) a2;
                y[3][r] = (float) a3;
            }
        }
        return y;
    }

    private static float gelu(float x) {
        return (float) (0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))));
    }
}
