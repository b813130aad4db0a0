package dev.slimq.quantize.method;

/**
 * How {@link FineQuant} picks one group size from its candidates' errors and storage costs.
 * A sealed family so the CLI, the options record and the shard fingerprint name every rule exactly.
 */
public sealed interface Granularity {
    /** The default rule: {@link BitsAware}. */
    Granularity DEFAULT = new BitsAware();

    /** A short, stable description for notes and fingerprints. */
    String describe();

    /**
     * Bits-aware: the candidate with the smallest {@code log2(e_g) + bpw_g}, i.e. the smallest
     * {@code e_g · 2^bpw_g}, where {@code e_g} is the relative Frobenius error and {@code bpw_g} the
     * native bits per weight (codes, plus scale and zero bits divided by the group size, plus
     * outliers). The exchange rate is the one of a uniform quantizer: one more code bit per weight
     * halves the error (6.02 dB per bit). A finer group must therefore cut the error by more than
     * {@code 2^Δbpw} to pay for its extra scales and zeros; if it does not, spending those bits on code
     * precision would have bought more. Coarse groups survive where the ranges are well-behaved, fine
     * ones where a few large weights dominate a coarse range. Ties go to the coarser group.
     */
    record BitsAware() implements Granularity {
        @Override
        public String describe() {
            return "bits-aware";
        }
    }

    /**
     * The first rule (research/quantization.md section 7 item 5): the largest group whose error is at
     * most {@code (1 + tau)} times the finest candidate's, blind to storage cost. At 4 bits the relative
     * error grows 12-17% per doubling of a Gaussian group, so small {@code tau} picks the finest group
     * almost everywhere.
     */
    record Tolerance(double tau) implements Granularity {
        public Tolerance {
            if (!(tau >= 0)) {
                throw new IllegalArgumentException("tolerance must be >= 0, got " + tau);
            }
        }

        @Override
        public String describe() {
            return "tolerance " + tau;
        }
    }
}
