package dev.slimq.core.quant;

import java.util.Arrays;

/**
 * The logical form of a quantized matrix, independent of any file format (DESIGN.md section 3):
 * shape {@code [rows, cols]} (rows = output features, cols = input features, groups run along cols),
 * one unsigned code per weight, per-group scales and zeros, and optional sparse outlier residuals.
 *
 * <pre>  w[r][c] = scales[g] * (codes[r*cols + c] - zeros[g]) + residual(r, c),   g = r*groupsPerRow + c/groupSize</pre>
 *
 * <p>Scales (and float zeros) hold values already rounded to the scheme's scale dtype, so a format
 * that stores them in that dtype reproduces this object exactly; integer zeros hold whole numbers in
 * the code range. Codes are unpacked (one byte each): packing is each format's business.
 * The arrays are owned by the instance (not copied): producers hand them over, consumers must not
 * modify them.
 */
public final class QuantizedTensor {
    private final String name;
    private final int rows;
    private final int cols;
    private final QuantScheme scheme;
    private final byte[] codes;
    private final float[] scales;
    private final float[] zeros;
    private final Outliers outliers;

    public QuantizedTensor(String name, int rows, int cols, QuantScheme scheme, byte[] codes, float[] scales,
                           float[] zeros, Outliers outliers) {
        int groups = Math.multiplyExact(rows, scheme.groupsPerRow(cols));
        if (codes.length != (long) rows * cols) {
            throw new IllegalArgumentException(name + ": " + codes.length + " codes for " + rows + "x" + cols);
        }
        if (scales.length != groups || zeros.length != groups) {
            throw new IllegalArgumentException(name + ": expected " + groups + " scales and zeros");
        }
        if (outliers != null && outliers.rows() != rows) {
            throw new IllegalArgumentException(name + ": outliers for " + outliers.rows() + " rows, matrix has " + rows);
        }
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.scheme = scheme;
        this.codes = codes;
        this.scales = scales;
        this.zeros = zeros;
        this.outliers = outliers == null ? Outliers.none(rows) : outliers;
    }

    public String name() {
        return name;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public QuantScheme scheme() {
        return scheme;
    }

    public int groupsPerRow() {
        return cols / scheme.groupSize();
    }

    /** Unsigned codes, row-major, one per byte (read with {@code & 0xFF}). */
    public byte[] codes() {
        return codes;
    }

    public int code(int r, int c) {
        return codes[r * cols + c] & 0xFF;
    }

    /** Per-group scales, row-major over [rows, groupsPerRow]. */
    public float[] scales() {
        return scales;
    }

    /** Per-group zeros (whole numbers in INTEGER mode, {@code 2^(bits-1)} when symmetric). */
    public float[] zeros() {
        return zeros;
    }

    public Outliers outliers() {
        return outliers;
    }

    /** The scalar reference dequantization of one row into {@code out[0..cols)}. */
    public void dequantizeRow(int r, float[] out) {
        int gpr = groupsPerRow();
        int g = scheme.groupSize();
        int base = r * cols;
        for (int c = 0; c < cols; c++) {
            int gi = r * gpr + c / g;
            out[c] = scales[gi] * ((codes[base + c] & 0xFF) - zeros[gi]);
        }
        for (int k = outliers.rowPtr()[r]; k < outliers.rowPtr()[r + 1]; k++) {
            out[outliers.colIdx()[k]] += outliers.residual()[k];
        }
    }

    /** The whole matrix dequantized (for tests and small tensors). */
    public float[] dequantize() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            dequantizeRow(r, row);
            System.arraycopy(row, 0, out, r * cols, cols);
        }
        return out;
    }

    /**
     * Native storage bits (DESIGN.md section 3): codes, plus scale and zero per group, plus outlier
     * storage. Divided by {@code rows * cols} this is the bits per weight.
     */
    public long storageBits() {
        long groups = (long) rows * groupsPerRow();
        return (long) rows * cols * scheme.bits() + groups * scheme.groupOverheadBits() + outliers.storageBits(cols);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedTensor q && name.equals(q.name) && rows == q.rows && cols == q.cols
                && scheme.equals(q.scheme) && Arrays.equals(codes, q.codes) && Arrays.equals(scales, q.scales)
                && Arrays.equals(zeros, q.zeros) && outliers.equals(q.outliers);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(scales);
    }

    @Override
    public String toString() {
        return name + " [" + rows + "x" + cols + "] " + scheme;
    }
}
