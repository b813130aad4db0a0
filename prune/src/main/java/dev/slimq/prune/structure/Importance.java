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
 * Data-free unit importance: the magnitude of all weights a unit owns (Adapt-Pruner's and
 * LLM-Pruner's {@code l1}/{@code l2} modes, pruning_tokens.md sections 1 and 7). {@code l1} is
 * Σ|w|, {@code l2} is √Σw², over every coupled row and column of the unit; a unit with small
 * weights contributes little to the layer output and goes first. Computed in double, each
 * member tensor scanned in a fixed order and members summed in a fixed order, so the scores do not
 * depend on the thread count.
 */
public enum Importance {
    L1, L2;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Importance fromName(String name) {
        for (Importance i : values()) {
            if (i.cliName().equalsIgnoreCase(name.strip())) {
                return i;
            }
        }
        throw new SlimqException(Failure.USAGE, "unknown --importance '" + name + "'; use l1 or l2");
    }

    /** The score of every unit of every group (result i belongs to group i, entry j to unit j). */
    public List<double[]> scores(Checkpoint ckpt, List<UnitGroup> groups, WorkPool pool) {
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

    /** The score of a unit of this many parameters per weight: mean |w| for l1, RMS for l2. */
    public double perWeight(double score, long parameters) {
        return this == L1 ? score / parameters : score / Math.sqrt(parameters);
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
