package dev.slimq.prune.structure;

import java.util.ArrayList;
import java.util.List;

/**
 * Adapt-Pruner's layer-adaptive sparsity (Pan et al., arXiv 2502.03460), solved on the grid of
 * allowed widths.
 *
 * <p>Per layer, sparsity {@code s_l = clip(base − A·I_l, 0, 0.99)} with I the layer importance
 * normalized to mean 0 and max |I| 1, so an important layer loses less; A = 0.02 in every shipped
 * Adapt-Pruner script (the code's incremental rule {@code s_l += Δ − A·I_l} is this per step). Each
 * group keeps {@code n·(1 − s_l)} units rounded to the nearest allowed width (a multiple of the
 * group's step, at least one step, at most n). The removed parameters are monotone in {@code base},
 * so {@code base} is found by bisection, and of the two grid points either side of the target the
 * closer one is taken (the lower on a tie). With {@code uniform} the per-layer sparsities are
 * averaged into one before rounding, so every layer keeps the same widths.
 */
public final class LayerAllocation {
    private LayerAllocation() {
    }

    /**
     * One group to allocate.
     *
     * @param layer index into the importance array
     * @param count units before pruning
     * @param parametersPerUnit parameters one unit owns
     * @param step allowed kept widths are multiples of this (plus {@code count} itself)
     */
    public record Group(int layer, int count, long parametersPerUnit, int step) {
        public Group {
            if (count < 1 || step < 1 || parametersPerUnit < 1) {
                throw new IllegalArgumentException("count, step and parameters per unit must be positive");
            }
        }
    }

    /**
     * The allocation found.
     *
     * @param base the solved base sparsity
     * @param sparsity per layer, the sparsity the widths were rounded from
     * @param kept per group, the units kept
     * @param removedParameters parameters of the removed units
     * @param totalParameters parameters of all units of the groups
     */
    public record Result(double base, double[] sparsity, int[] kept, long removedParameters, long totalParameters) {
        public double achievedRatio() {
            return totalParameters == 0 ? 0 : (double) removedParameters / totalParameters;
        }
    }

    public static final double MAX_SPARSITY = 0.99;

    /**
     * Solves for the base sparsity whose removed parameters come closest to {@code ratio} of all.
     *
     * @param importance per layer, normalized (mean 0, max |·| 1), or all zero
     */
    public static Result solve(List<Group> groups, double[] importance, double amplitude, double ratio, boolean uniform) {
        long total = 0;
        for (Group g : groups) {
            total += g.count() * g.parametersPerUnit();
        }
        double target = ratio * total;
        double lo = -1 - Math.abs(amplitude);
        double hi = MAX_SPARSITY + Math.abs(amplitude) + 1;
        if (removed(groups, importance, amplitude, hi, uniform) < target) {
            Result max = evaluate(groups, importance, amplitude, hi, uniform, total);
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "ratio %.4f cannot be reached: keeping at least one allowed width per layer removes at most %.4f", ratio, max.achievedRatio()));
        }
        for (int i = 0; i < 200 && hi - lo > 0; i++) {
            double mid = lo + (hi - lo) / 2;
            if (mid <= lo || mid >= hi) {
                break;
            }
            if (removed(groups, importance, amplitude, mid, uniform) >= target) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        long rLo = removed(groups, importance, amplitude, lo, uniform);
        long rHi = removed(groups, importance, amplitude, hi, uniform);
        double base = (target - rLo) <= (rHi - target) ? lo : hi;
        return evaluate(groups, importance, amplitude, base, uniform, total);
    }

    /** No width pruning: every group keeps all its units. */
    public static Result none(List<Group> groups, int layers) {
        int[] kept = new int[groups.size()];
        long total = 0;
        for (int i = 0; i < kept.length; i++) {
            kept[i] = groups.get(i).count();
            total += groups.get(i).count() * groups.get(i).parametersPerUnit();
        }
        return new Result(0, new double[layers], kept, 0, total);
    }

    /** Per layer sparsity for a base: clipped, and averaged for uniform. */
    static double[] sparsities(double[] importance, double amplitude, double base, boolean uniform) {
        double[] s = new double[importance.length];
        double mean = 0;
        for (int l = 0; l < s.length; l++) {
            s[l] = Math.clamp(base - amplitude * importance[l], 0.0, MAX_SPARSITY);
            mean += s[l];
        }
        if (uniform && s.length > 0) {
            java.util.Arrays.fill(s, mean / s.length);
        }
        return s;
    }

    /** The allowed width nearest to {@code count·(1 − s)}; ties keep more. */
    static int keptWidth(int count, int step, double s) {
        double target = count * (1 - s);
        if (target >= count) {
            return count;
        }
        int minKeep = Math.min(step, count);
        int floor = (int) Math.floor(target / step) * step;
        int ceil = Math.min(floor + step, count);
        int k = (target - floor) < (ceil - target) ? floor : ceil;
        return Math.clamp(k, minKeep, count);
    }

    private static long removed(List<Group> groups, double[] importance, double amplitude, double base, boolean uniform) {
        double[] s = sparsities(importance, amplitude, base, uniform);
        long r = 0;
        for (Group g : groups) {
            r += (long) (g.count() - keptWidth(g.count(), g.step(), s[g.layer()])) * g.parametersPerUnit();
        }
        return r;
    }

    private static Result evaluate(List<Group> groups, double[] importance, double amplitude, double base, boolean uniform, long total) {
        double[] s = sparsities(importance, amplitude, base, uniform);
        int[] kept = new int[groups.size()];
        long r = 0;
        for (int i = 0; i < kept.length; i++) {
            Group g = groups.get(i);
            kept[i] = keptWidth(g.count(), g.step(), s[g.layer()]);
            r += (long) (g.count() - kept[i]) * g.parametersPerUnit();
        }
        return new Result(base, s, kept, r, total);
    }

    /** Normalizes raw layer scores as Adapt-Pruner does: minus the mean, divided by the largest |·| (all zero when flat). */
    public static double[] normalize(double[] raw) {
        double mean = 0;
        for (double v : raw) {
            mean += v;
        }
        mean = raw.length == 0 ? 0 : mean / raw.length;
        double[] out = new double[raw.length];
        double max = 0;
        for (int i = 0; i < raw.length; i++) {
            out[i] = raw[i] - mean;
            max = Math.max(max, Math.abs(out[i]));
        }
        if (max == 0 || !Double.isFinite(max)) {
            return new double[raw.length];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] /= max;
        }
        return out;
    }

    /** Which units to keep: the {@code keep} highest scores, ties to the lower index, returned in ascending index order. */
    public static boolean[] keepMask(double[] scores, int keep) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) {
            order.add(i);
        }
        order.sort((a, b) -> {
            int c = Double.compare(scores[b], scores[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        boolean[] k = new boolean[scores.length];
        for (int i = 0; i < keep; i++) {
            k[order.get(i)] = true;
        }
        return k;
    }
}
