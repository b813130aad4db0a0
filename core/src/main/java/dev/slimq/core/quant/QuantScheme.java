package dev.slimq.core.quant;

import dev.slimq.core.tensor.DType;

/**
 * The storage scheme of one quantized matrix: bits per code, group size along the input dimension,
 * symmetric or not, how zeros are stored and the dtype of scales (and of float zeros).
 *
 * <p>A group is {@code groupSize} consecutive weights of one row; {@code groupSize == cols} means one
 * group per row (per-channel). Symmetric schemes have no stored zero: every group's zero is the
 * midpoint {@code 2^(bits-1)}, so codes {@code 0 .. 2^bits - 1} stand for {@code -2^(bits-1) .. 2^(bits-1) - 1}
 * steps, as in GPTQ and compressed-tensors.
 */
public record QuantScheme(int bits, int groupSize, boolean symmetric, ZeroMode zeroMode, DType scaleDtype) {

    public QuantScheme {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits must be 2, 3, 4 or 8, got " + bits);
        }
        if (groupSize < 1) {
            throw new IllegalArgumentException("group size must be positive, got " + groupSize);
        }
        if (scaleDtype != DType.F16 && scaleDtype != DType.BF16 && scaleDtype != DType.F32) {
            throw new IllegalArgumentException("scales are F16, BF16 or F32, not " + scaleDtype.wireName());
        }
        if (symmetric && zeroMode != ZeroMode.INTEGER) {
            throw new IllegalArgumentException("symmetric schemes have the fixed integer zero 2^(bits-1)");
        }
    }

    /** Largest code, {@code 2^bits - 1}. */
    public int maxCode() {
        return (1 << bits) - 1;
    }

    /** The zero of every group of a symmetric scheme, {@code 2^(bits-1)}. */
    public int symmetricZero() {
        return 1 << (bits - 1);
    }

    /** Groups per row of a matrix with {@code cols} columns; the group size must divide it. */
    public int groupsPerRow(long cols) {
        if (cols % groupSize != 0) {
            throw new IllegalArgumentException("group size " + groupSize + " does not divide " + cols + " columns");
        }
        return Math.toIntExact(cols / groupSize);
    }

    /** Bits of storage per group for scale and zero (the zero only when stored). */
    public int groupOverheadBits() {
        int scaleBits = scaleDtype.bits();
        if (symmetric) {
            return scaleBits;
        }
        return scaleBits + (zeroMode == ZeroMode.INTEGER ? bits : scaleBits);
    }

    /** This scheme with another group size (per-channel when it equals the row length). */
    public QuantScheme withGroupSize(int g) {
        return new QuantScheme(bits, g, symmetric, zeroMode, scaleDtype);
    }
}
