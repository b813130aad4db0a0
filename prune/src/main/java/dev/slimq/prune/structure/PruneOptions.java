package dev.slimq.prune.structure;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What {@code slimq prune} was asked for.
 *
 * @param ratio fraction of the selected units' parameters to remove, in (0, 1)
 * @param units which unit kinds are pruned
 * @param layout how the result is written
 * @param importance unit score
 * @param amplitude Adapt-Pruner's A (default 0.02), the spread of per-layer sparsity around the base
 * @param multipleOf MLP widths are kept at multiples of this; {@link #AUTO_MULTIPLE} (the CLI default) picks 64 when
 *        the intermediate size is at least 4096, else 8 (GEMM-friendly widths)
 * @param force replace an existing output
 * @param threads worker threads for scoring
 * @param stats calibration statistics ({@code slimq calibrate}), or null for data-free pruning
 * @param biasCompensation with {@code stats}: fold the removed units' mean contribution into the
 *        consuming linear's bias (FLAP); refused where the architecture has no such bias
 * @param ignoreFingerprint with {@code stats}: accept a statistics file made for another model
 * @param drop whole layers to remove (depth pruning), applied before the width allocation, which then
 *        spreads {@code ratio} over the remaining layers; {@code ratio} may be 0 when layers are dropped
 * @param steps the allocation applied in this many increments, re-scoring in between (Adapt-Pruner's
 *        schedule without the training it interleaves)
 */
public record PruneOptions(double ratio, UnitSelection units, PruneLayout layout, Importance importance,
        double amplitude, int multipleOf, boolean force, int threads, Path stats, boolean biasCompensation,
        boolean ignoreFingerprint, LayerDrop drop, int steps) {

    /** Data-free options (no statistics file). */
    public PruneOptions(double ratio, UnitSelection units, PruneLayout layout, Importance importance,
            double amplitude, int multipleOf, boolean force, int threads) {
        this(ratio, units, layout, importance, amplitude, multipleOf, force, threads, null, true, false, LayerDrop.NONE, 1);
    }

    public static final double DEFAULT_AMPLITUDE = 0.02;

    /** {@code multipleOf} value that means: 64 for intermediate sizes of at least 4096, else 8. */
    public static final int AUTO_MULTIPLE = 0;

    /** The MLP width step for a model of this intermediate size. */
    public int mlpMultiple(int intermediateSize) {
        return multipleOf != AUTO_MULTIPLE ? multipleOf : intermediateSize >= 4096 ? 64 : 8;
    }

    public PruneOptions {
        Objects.requireNonNull(units);
        Objects.requireNonNull(layout);
        Objects.requireNonNull(importance);
        Objects.requireNonNull(drop);
    }

    /** Defaults for everything but the ratio: all units, uniform, l2, A = 0.02, multiple of 1, one thread. */
    public static PruneOptions of(double ratio) {
        return new PruneOptions(ratio, UnitSelection.ALL, PruneLayout.UNIFORM, Importance.L2, DEFAULT_AMPLITUDE, 1, false, 1);
    }

    public PruneOptions withUnits(UnitSelection u) {
        return new PruneOptions(ratio, u, layout, importance, amplitude, multipleOf, force, threads, stats, biasCompensation, ignoreFingerprint, drop, steps);
    }

    public PruneOptions withLayout(PruneLayout l) {
        return new PruneOptions(ratio, units, l, importance, amplitude, multipleOf, force, threads, stats, biasCompensation, ignoreFingerprint, drop, steps);
    }

    public PruneOptions withImportance(Importance i) {
        return new PruneOptions(ratio, units, layout, i, amplitude, multipleOf, force, threads, stats, biasCompensation, ignoreFingerprint, drop, steps);
    }

    public PruneOptions withAmplitude(double a) {
        return new PruneOptions(ratio, units, layout, importance, a, multipleOf, force, threads, stats, biasCompensation, ignoreFingerprint, drop, steps);
    }

    public PruneOptions withMultipleOf(int m) {
        return new PruneOptions(ratio, units, layout, importance, amplitude, m, force, threads, stats, biasCompensation, ignoreFingerprint, drop, steps);
    }

    public PruneOptions withForce(boolean f) {
        return new PruneOptions(ratio, units, layout, importance, amplitude, multipleOf, f, threads, stats, biasCompensation, ignoreFingerprint, drop, steps);
    }

    /** With a statistics file (null for none). */
    public PruneOptions withStats(Path p) {
        return new PruneOptions(ratio, units, layout, importance, amplitude, multipleOf, force, threads, p, biasCompensation, ignoreFingerprint, drop, steps);
    }

    public PruneOptions withBiasCompensation(boolean b) {
        return new PruneOptions(ratio, units, layout, importance, amplitude, multipleOf, force, threads, stats, b, ignoreFingerprint, drop, steps);
    }

    public PruneOptions withIgnoreFingerprint(boolean b) {
        return new PruneOptions(ratio, units, layout, importance, amplitude, multipleOf, force, threads, stats, biasCompensation, b, drop, steps);
    }

    /** With depth pruning. */
    public PruneOptions withDrop(LayerDrop d) {
        return new PruneOptions(ratio, units, layout, importance, amplitude, multipleOf, force, threads, stats, biasCompensation, ignoreFingerprint, d, steps);
    }

    /** In this many increments. */
    public PruneOptions withSteps(int n) {
        return new PruneOptions(ratio, units, layout, importance, amplitude, multipleOf, force, threads, stats, biasCompensation, ignoreFingerprint, drop, n);
    }

    public PruneOptions withThreads(int t) {
        return new PruneOptions(ratio, units, layout, importance, amplitude, multipleOf, force, t, stats, biasCompensation, ignoreFingerprint, drop, steps);
    }
}
