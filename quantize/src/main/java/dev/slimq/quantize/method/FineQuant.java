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
 * matrices (q/k/v, gate/up, or one matrix alone), the coarsest group size that costs little accuracy.
 * The paper's exact criterion could not be read, so the rule is ours (research/quantization.md
 * section 7 item 5):
 * <ol>
 *   <li>candidates: per-channel (one group per row, when every member has the same number of columns),
 *       256, 128, 64, 32, each kept when it divides every member's columns and the inner method accepts it;</li>
 *   <li>each candidate's error: the relative Frobenius error over the whole fused group,
 *       {@code sqrt(Σ‖W_i − Ŵ_i‖² / Σ‖W_i‖²)}, with every member quantized by {@code inner};</li>
 *   <li>the choice: the largest group size whose error is at most {@code (1 + tolerance)} times the
 *       finest candidate's.</li>
 * </ol>
 * Matrices whose rows hold a few huge weights collapse under coarse scales and get fine groups;
 * well-behaved ones keep coarse groups and their smaller overhead. Deterministic; costs one
 * quantization per member and candidate.
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
     */
    public record Choice(QuantScheme scheme, SequencedMap<Integer, Double> errorByGroupSize) {
        public Choice {
            errorByGroupSize = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(errorByGroupSize));
        }
    }

    /**
     * Chooses the group size for the fused group of {@code matrices} (row-major, {@code shapes[i] =
     * {rows, cols}}) quantized by {@code inner} with {@code base}'s other settings.
     *
     * @throws SlimqException {@link Failure#UNSUPPORTED} when no candidate fits every member
     */
    public static Choice choose(List<float[]> matrices, List<int[]> shapes, QuantScheme base, Quantizer inner,
                                double tolerance) {
        if (matrices.isEmpty() || matrices.size() != shapes.size()) {
            throw new IllegalArgumentException("need one shape per matrix, and at least one matrix");
        }
        if (!(tolerance >= 0)) {
            throw new IllegalArgumentException("tolerance must be >= 0, got " + tolerance);
        }
        List<Integer> candidates = candidates(shapes, base, inner);
        if (candidates.isEmpty()) {
            throw new SlimqException(Failure.UNSUPPORTED, "no group size of per-channel, " + GROUP_SIZES
                    + " divides the columns of every matrix of the group");
        }
        SequencedMap<Integer, Double> errors = new LinkedHashMap<>();
        for (int g : candidates) {
            errors.put(g, error(matrices, shapes, base.withGroupSize(g), inner));
        }
        double limit = (1 + tolerance) * errors.lastEntry().getValue();
        int choice = candidates.getLast();
        for (int g : candidates) {
            if (errors.get(g) <= limit) {
                choice = g;
                break;
            }
        }
        return new Choice(base.withGroupSize(choice), errors);
    }

    /** {@link #choose(List, List, QuantScheme, Quantizer, double)} for one matrix with τ = 0.10. */
    public static Choice choose(float[] matrix, int rows, int cols, QuantScheme base, Quantizer inner) {
        return choose(List.of(matrix), List.<int[]>of(new int[] {rows, cols}), base, inner, 0.10);
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

    /** Relative Frobenius error of the fused group under {@code scheme}, in float64. */
    private static double error(List<float[]> matrices, List<int[]> shapes, QuantScheme scheme, Quantizer inner) {
        double err = 0;
        double norm = 0;
        for (int i = 0; i < matrices.size(); i++) {
            float[] w = matrices.get(i);
            int rows = shapes.get(i)[0];
            int cols = shapes.get(i)[1];
            QuantizedTensor q = inner.quantize("fused group member " + i, w, rows, cols, scheme);
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
        return err == 0 ? 0 : Math.sqrt(err / norm);
    }
}
