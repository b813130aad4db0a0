package dev.slimq.quantize;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.tensor.DType;
import dev.slimq.quantize.method.Granularity;
import java.util.Optional;

/**
 * Settings of one {@code slimq quantize} run. Defaults (DESIGN.md section 3): easyquant, 4 bits,
 * group 128, asymmetric, F16 scales, compressed-tensors, outliers auto.
 *
 * @param groupSize            weights per group along the input dimension; {@link #PER_CHANNEL} for one group per row
 * @param format               output format name (see the format package)
 * @param outlierSigma         easyquant's n in |w - mean| > n·σ
 * @param scaleDtype           dtype of scales; empty: what the format prefers for the model's dtype
 * @param granularity          finequant's rule for choosing a group size (default bits-aware; the old τ rule on request)
 * @param strict               refuse (exit 4) instead of falling back to a smaller group when the group does not divide a row
 * @param maxShardBytes        output shard limit, 0 for one file
 * @param dryRun               plan and print sizes, write nothing
 */
public record QuantizeOptions(Method method, int bits, int groupSize, boolean symmetric, String format,
                              Optional<Target> target, OutlierMode outliers, double outlierSigma,
                              Granularity granularity, Optional<DType> scaleDtype, TensorPolicy policy, boolean strict,
                              long maxShardBytes, int threads, boolean force, boolean dryRun) {
    public static final int PER_CHANNEL = -1;

    public QuantizeOptions {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new SlimqException(Failure.USAGE, "--bits must be 2, 3, 4 or 8, not " + bits);
        }
        if (groupSize != PER_CHANNEL && groupSize < 1) {
            throw new SlimqException(Failure.USAGE, "--group-size must be positive, or -1 for per-channel, not " + groupSize);
        }
        if (!(outlierSigma > 0)) {
            throw new SlimqException(Failure.USAGE, "--outlier-sigma must be positive, not " + outlierSigma);
        }
        if (granularity == null) {
            throw new IllegalArgumentException("granularity must not be null");
        }
        if (scaleDtype.isPresent() && scaleDtype.get() != DType.F16 && scaleDtype.get() != DType.BF16 && scaleDtype.get() != DType.F32) {
            throw new SlimqException(Failure.USAGE, "--scale-dtype must be F16, BF16 or F32, not " + scaleDtype.get().wireName());
        }
        if (threads < 1) {
            throw new SlimqException(Failure.USAGE, "--threads must be at least 1, not " + threads);
        }
        if (maxShardBytes < 0) {
            throw new SlimqException(Failure.USAGE, "--max-shard-size must be positive");
        }
    }

    /** The defaults, with the given format. */
    public static QuantizeOptions defaults() {
        return new QuantizeOptions(Method.EASYQUANT, 4, 128, false, "compressed-tensors", Optional.empty(), OutlierMode.AUTO,
                3.0, Granularity.DEFAULT, Optional.empty(), TensorPolicy.defaults(), false, 0, Runtime.getRuntime().availableProcessors(), false, false);
    }
}
