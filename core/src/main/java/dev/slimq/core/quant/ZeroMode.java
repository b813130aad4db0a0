package dev.slimq.core.quant;

/**
 * How a group's zero point is stored. Both use the same dequantization, {@code w = scale * (code - zero)};
 * they differ in what values {@code zero} may take.
 */
public enum ZeroMode {
    /**
     * Zeros are integers in the code range {@code [0, 2^bits - 1]}: what compressed-tensors, GPTQ and
     * GGUF Q4_0/Q8_0 store. Symmetric schemes always use this mode with {@code zero = 2^(bits-1)}.
     */
    INTEGER,
    /**
     * Zeros are arbitrary floats, stored in the scale's dtype: slimq native, HQQ and GGUF Q4_1 (whose
     * {@code min} is {@code -scale * zero}).
     */
    FLOAT
}
