package dev.slimq.prune.structure;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tensor.TensorView;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Unit importance. Data-free: {@code l1}/{@code l2}, and {@code gauss}, the expected output energy
 * of the unit with its input modelled from the feeding norm's weights ({@link GaussianContribution}). Activation-aware (need {@code --stats}):
 * {@code flap}, {@code wanda} (below).
 *
 * <p><b>Data-free</b>: unit importance: the magnitude of all weights a unit owns (Adapt-Pruner's and
 * LLM-Pruner's {@code l1}/{@code l2} modes, pruning_tokens.md sections 1 and 7). {@code l1} is
 * Σ|w|, {@code l2} is √Σw², over every coupled row and column of the unit; a unit with small
 * weights contributes little to the layer output and goes first. Computed in double, each
 * member tensor scanned in a fixed order and members summed in a fixed order, so the scores do not
 * depend on the thread count.
 *
 * <p><b>Activation-aware</b>, scored at the unit's input columns C of the consuming linear (MLP:
 * down_proj / BERT {@code output.dense}, column j; attention: o_proj / BERT
 * {@code attention.output.dense}, the head's or KV group's columns), with the calibration
 * statistics of that linear's input:
 * <ul>
 *   <li>{@code flap}: FLAP's fluctuation ({@code WIFV}, pruning_tokens.md section 2, FLAP):
 *       S = Σ_{c∈C} input_var[c] · ‖W[:, c]‖₂². FLAP averages over a head's channels; summing
 *       differs by the constant head size and ranks the same within a group.</li>
 *   <li>{@code wanda}: S = Σ_{c∈C} input_absmean[c] · ‖W[:, c]‖₂, i.e. mean |x_c| times the column
 *       norm — ModelOpt's {@code IndependentChannelContributionHook} (‖W_{:,j}‖₂·mean|x_j|,
 *       pruning_tokens.md section 2, Minitron) summed over the unit's columns; the issue's
 *       "mean |x| × column norm". Not √E[x²] (that is FLAP's {@code WIFN} variant).</li>
 * </ul>
 */
public enum Importance {
    L1, L2, FLAP, WANDA,
    /** Data-free: the expected output energy of the unit under a Gaussian model of its input ({@link GaussianContribution}). */
    GAUSS;

    /** Whether this score needs a statistics file. */
    public boolean activationAware() {
        return this == FLAP || this == WANDA;
    }

    /** The statistic the score reads ({@code input_var} or {@code input_absmean}); only for activation-aware scores. */
    public String statistic() {
        return this == FLAP ? "input_var" : "input_absmean";
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Importance fromName(String name) {
        for (Importance i : values()) {
            if (i.cliName().equalsIgnoreCase(name.strip())) {
                return i;
            }
        }
        throw new SlimqException(Failure.USAGE, "unknown --importance '" + name + "'; use l1, l2, gauss, flap or wanda");
    }

    /** The score of every unit of every group (result i belongs to group i, entry j to unit j). */
    public List<double[]> scores(Checkpoint ckpt, List<UnitGroup> groups, WorkPool pool) {
        if (activationAware()) {
            throw new SlimqException(Failure.USAGE, "--importance " + cliName() + " needs --stats FILE (from slimq calibrate)");
        }
        if (this == GAUSS) {
            return GaussianContribution.scores(ckpt, groups, pool);
        }
        List<int[]> pieces = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            for (int m = 0; m < groups.get(g).members().size(); m++) {
                pieces.add(new int[] {g, m});
            }
        }
        List<double[]> partial = pool.map(pieces.size(), i -> {
            UnitGroup g = groups.get(pieces.get(i)[0]);
            return memberSums(ckpt, g.members().get(pieces.get(i)[1]), g.count());
        });
        List<double[]> out = new ArrayList<>();
        int k = 0;
        for (UnitGroup g : groups) {
            double[] s = new double[g.count()];
            for (int m = 0; m < g.members().size(); m++) {
                double[] p = partial.get(k++);
                for (int u = 0; u < s.length; u++) {
                    s[u] += p[u];
                }
            }
            if (this == L2) {
                for (int u = 0; u < s.length; u++) {
                    s[u] = Math.sqrt(s[u]);
                }
            }
            out.add(s);
        }
        return out;
    }

    /**
     * Activation-aware scores (any importance; l1/l2 ignore {@code stats}). Statistics missing or of
     * the wrong width exit 3 naming the tensor. Computed in double in a fixed order.
     */
    public List<double[]> scores(Checkpoint ckpt, List<UnitGroup> groups, StatisticsFile stats, WorkPool pool) {
        if (!activationAware()) {
            return scores(ckpt, groups, pool);
        }
        List<float[]> inputs = new ArrayList<>();
        for (UnitGroup g : groups) {
            UnitGroup.Member m = consumer(g);
            inputs.add(stats.input(g.layer(), m.tensor(), statistic(), m.span() * g.count()));
        }
        return pool.map(groups.size(), i -> {
            UnitGroup g = groups.get(i);
            UnitGroup.Member m = consumer(g);
            double[] col = columnSquares(ckpt, m.tensor(), m.span() * g.count(), m.otherDim());
            float[] x = inputs.get(i);
            double[] s = new double[g.count()];
            for (int u = 0; u < g.count(); u++) {
                double acc = 0;
                for (long c = u * m.span(); c < (u + 1) * m.span(); c++) {
                    int ci = (int) c;
                    acc += this == FLAP ? x[ci] * col[ci] : x[ci] * Math.sqrt(col[ci]);
                }
                s[u] = acc;
            }
            return s;
        });
    }

    /** The group's input-column member: the linear that consumes the units. */
    static UnitGroup.Member consumer(UnitGroup g) {
        for (UnitGroup.Member m : g.members()) {
            if (m.axis() == UnitGroup.Axis.COLUMN) {
                return m;
            }
        }
        throw new IllegalStateException("unit group of layer " + g.layer() + " has no consuming linear");
    }

    /** ‖W[:, c]‖₂² of every column of a [rows, cols] weight. */
    static double[] columnSquares(Checkpoint ckpt, String tensor, long cols, long rows) {
        double[] s = new double[Math.toIntExact(cols)];
        float[] row = new float[s.length];
        try (TensorView v = ckpt.map(tensor)) {
            for (long r = 0; r < rows; r++) {
                v.readFloats(r * cols, row, 0, row.length);
                for (int c = 0; c < row.length; c++) {
                    double d = row[c];
                    s[c] += d * d;
                }
            }
        }
        return s;
    }

    /**
     * The score of a unit of this many parameters per weight: mean |w| for l1, RMS for l2; gauss
     * scores are already the unit's share of the block's relative output energy and stay as they are.
     */
    public double perWeight(double score, long parameters) {
        return this == GAUSS ? score : this == L1 ? score / parameters : score / Math.sqrt(parameters);
    }

    /** Σ|w| or Σw² of one member, per unit. */
    private double[] memberSums(Checkpoint ckpt, UnitGroup.Member m, int count) {
        double[] s = new double[count];
        try (TensorView v = ckpt.map(m.tensor())) {
            long rows = m.axis() == UnitGroup.Axis.ROW ? m.span() * count : m.otherDim();
            long cols = m.axis() == UnitGroup.Axis.ROW ? m.otherDim() : m.span() * count;
            float[] row = new float[Math.toIntExact(cols)];
            for (long r = 0; r < rows; r++) {
                v.readFloats(r * cols, row, 0, row.length);
                if (m.axis() == UnitGroup.Axis.ROW) {
                    s[(int) (r / m.span())] += sum(row, 0, row.length);
                } else {
                    for (int u = 0; u < count; u++) {
                        s[u] += sum(row, (int) (u * m.span()), (int) m.span());
                    }
                }
            }
        }
        return s;
    }

    private double sum(float[] a, int off, int len) {
        double acc = 0;
        if (this == L1) {
            for (int i = off; i < off + len; i++) {
                acc += Math.abs((double) a[i]);
            }
        } else {
            for (int i = off; i < off + len; i++) {
                double d = a[i];
                acc += d * d;
            }
        }
        return acc;
    }
}
