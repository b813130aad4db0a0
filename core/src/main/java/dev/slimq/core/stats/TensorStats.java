package dev.slimq.core.stats;

/**
 * Summary statistics of one tensor's values. Mean, standard deviation (population), min, max and
 * absmax are over finite values only; NaN and infinities are counted separately. {@code beyond3Sigma}
 * is the fraction of finite values with {@code |x - mean| > 3 std} (a Gaussian gives 0.0027; heavy
 * tails and outlier channels give more, which is what quantizers care about).
 */
public record TensorStats(long count, long finite, double min, double max, double mean, double std,
                          double absmax, double beyond3Sigma, long nanCount, long infCount) {
}
