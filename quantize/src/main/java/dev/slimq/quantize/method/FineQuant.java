package dev.slimq.quantize.method;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Adaptive granularity in the spirit of FineQuant (Kim et al., arXiv 2308.09723): per fused group of
 * matrices (q/k/v, gate/up, or one matrix alone), start from the coarsest group and refine only where the
 * coarse ranges collapse. The paper's exact criterion could not be read, so the rule is ours
 * (research/quantization.md section 7 item 5):
 * <ol>
 *   <li>candidates: per-channel (one group per row, when every member has the same number of columns),
 *       256, 128, 64, 32, each kept when it divides every member's columns and the inner method accepts it;</li>
 *   <li>each candidate's error: the relative Frobenius error over the whole fused group,
 *       {@code sqrt(Σ‖W_i − Ŵ_i‖² / Σ‖W_i‖²)}, with every member quantized by {@code inner}; and its cost:
 *       the native bits per weight over the group, {@code Σ storageBits / Σ rows·cols} (codes, plus scale
 *       and zero bits divided by the group size, plus outliers);</li>
 *   <li>the choice: by {@link Granularity}, by default {@link Granularity.BitsAware} (smallest
 *       {@code log2(error) + bits per weight}, ties to the coarser group).</li>
 * </ol>
 * The first rule, {@link Granularity.Tolerance} (the largest group within {@code (1 + τ)} of the finest
 * candidate's error), ignores what finer groups cost: at 4 bits a Gaussian group's error grows 12-17% per
 * doubling, so with τ = 0.10 it chose 32 for every matrix of bge-small-en-v1.5, paying 0.75 more bits per
 * weight than 128 everywhere. Deterministic; costs one quantization per member and candidate.
 */
public final class FineQuant {
    /** The group sizes tried below per-channel, coarsest first. */
    public static final List<Integer> GROUP_SIZES = List.of(256, 128, 64, 32);

    private FineQuant() {
    }

    /**
     * The chosen scheme and every candidate's error.
     *
     * @param scheme            {@code base} with the chosen group size ({@code == cols} for per-channel)
     * @param errorByGroupSize  relative Frobenius error of the fused group per candidate group size,
     *                          coarsest first (per-channel under its column count)
     * @param bitsPerWeightByGroupSize native bits per weight of the fused group per candidate, same order
     */
    public record Choice(QuantScheme scheme, SequencedMap<Integer, Double> errorByGroupSize,
                         SequencedMap<Integer, Double> bitsPerWeightByGroupSize) {
        public Choice {
            errorByGroupSize = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(errorByGroupSize));
            bitsPerWeightByGroupSize = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(bitsPerWeightByGroupSize));
        }
    }

    /**
     * Chooses the group size for the fused group of {@code matrices} (row-major, {@code shapes[i] =
     * {rows, cols}}) quantized by {@code inner} with {@code base}'s other settings.
     *
     * @throws SlimqException {@link Failure#UNSUPPORTED} when no candidate fits every member
     */
    public static Choice choose(List<float[]> matrices, List<int[]> shapes, QuantScheme base, Quantizer inner,
                                Granularity rule) {
        if (matrices.isEmpty() || matrices.size() != shapes.size()) {
            throw new IllegalArgumentException("need one shape per matrix, and at least one matrix");
        }
        List<Integer> candidates = candidates(shapes, base, inner);
        if (candidates.isEmpty()) {
            throw new SlimqException(Failure.UNSUPPORTED, "no group size of per-channel, " + GROUP_SIZES
                    + " divides the columns of every matrix of the group");
        }
        SequencedMap<Integer, Double> errors = new LinkedHashMap<>();
        SequencedMap<Integer, Double> bpw = new LinkedHashMap<>();
        for (int g : candidates) {
            double[] eb = measure(matrices, shapes, base.withGroupSize(g), inner);
            errors.put(g, eb[0]);
            bpw.put(g, eb[1]);
        }
        int choice = switch (rule) {
            case Granularity.BitsAware b -> bitsAware(candidates, errors, bpw);
            case Granularity.Tolerance(double tau) -> withinTolerance(candidates, errors, tau);
        };
        return new Choice(base.withGroupSize(choice), errors, bpw);
    }

    /** {@link #choose(List, List, QuantScheme, Quantizer, Granularity)} for one matrix with the default rule. */
    public static Choice choose(float[] matrix, int rows, int cols, QuantScheme base, Quantizer inner) {
        return choose(List.of(matrix), List.<int[]>of(new int[] {rows, cols}), base, inner, Granularity.DEFAULT);
    }

    /**
     * The smallest {@code log2(e) + bpw}, scanning coarsest first and moving only on a strict
     * improvement, so exact ties keep the coarser (cheaper) group whatever the candidate order of the
     * caller. An error of zero scores minus infinity: a lossless candidate always wins, the coarsest of
     * several.
     */
    private static int bitsAware(List<Integer> candidates, Map<Integer, Double> errors, Map<Integer, Double> bpw) {
        int best = candidates.getFirst();
        double bestScore = score(errors.get(best), bpw.get(best));
        for (int g : candidates) {
            double s = score(errors.get(g), bpw.get(g));
            if (s < bestScore) {
                best = g;
                bestScore = s;
            }
        }
        return best;
    }

    /** Bits-aware cost of a candidate: log2 of its relative error plus its bits per weight. */
    static double score(double error, double bitsPerWeight) {
        return (error == 0 ? Double.NEGATIVE_INFINITY : Math.log(error) / Math.log(2)) + bitsPerWeight;
    }

    /** The largest group whose error is at most {@code (1 + tau)} times the finest candidate's. */
    private static int withinTolerance(List<Integer> candidates, Map<Integer, Double> errors, double tau) {
        double limit = (1 + tau) * errors.get(candidates.getLast());
        for (int g : candidates) {
            if (errors.get(g) <= limit) {
                return g;
            }
        }
        return candidates.getLast();
    }

    /** Candidate group sizes, coarsest first. */
    private static List<Integer> candidates(List<int[]> shapes, QuantScheme base, Quantizer inner) {
        int cols = shapes.getFirst()[1];
        boolean sameCols = shapes.stream().allMatch(s -> s[1] == cols);
        List<Integer> sizes = new ArrayList<>();
        if (sameCols) {
            sizes.add(cols);
        }
        for (int g : GROUP_SIZES) {
            if (!sizes.contains(g) && shapes.stream().allMatch(s -> s[1] % g == 0)) {
                sizes.add(g);
            }
        }
        sizes.removeIf(g -> shapes.stream().anyMatch(s -> !inner.supports(base.withGroupSize(g), s[1])));
        sizes.sort(Collections.reverseOrder());
        return sizes;
    }

    /**
     * Relative Frobenius error of the fused group under {@code scheme}, in float64, and its native bits
     * per weight ({@link QuantizedTensor#storageBits()}, the same accounting as the report).
     */
    private static double[] measure(List<float[]> matrices, List<int[]> shapes, QuantScheme scheme, Quantizer inner) {
        double err = 0;
        double norm = 0;
        long storage = 0;
        long weights = 0;
        for (int i = 0; i < matrices.size(); i++) {
            float[] w = matrices.get(i);
            int rows = shapes.get(i)[0];
            int cols = shapes.get(i)[1];
            QuantizedTensor q = inner.quantize("fused group member " + i, w, rows, cols, scheme);
            storage += q.storageBits();
            weights += (long) rows * cols;
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                q.dequantizeRow(r, row);
                for (int c = 0; c < cols; c++) {
                    double v = w[r * cols + c];
                    double e = v - row[c];
                    err += e * e;
                    norm += v * v;
                }
            }
        }
        return new double[] {err == 0 ? 0 : Math.sqrt(err / norm), (double) storage / weights};
    }
}
