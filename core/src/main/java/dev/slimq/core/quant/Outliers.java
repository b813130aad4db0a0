package dev.slimq.core.quant;

import java.util.Arrays;

/**
 * Sparse residuals at outlier positions, row by row (CSR): the weight at {@code (r, colIdx[k])} for
 * {@code k} in {@code [rowPtr[r], rowPtr[r+1])} is {@code dequant(code) + residual[k]}. Storing the
 * residual rather than the weight reproduces the weight to the residual's precision whatever the
 * group's zero, so the dense part needs no special code at outlier positions.
 *
 * <p>Residuals hold values already rounded to {@link #residualBits} precision (16: F16) so that what
 * a format stores is exactly what this object says. Column indices ascend within a row.
 */
public record Outliers(int[] rowPtr, int[] colIdx, float[] residual) {

    public Outliers {
        if (rowPtr.length < 1 || rowPtr[0] != 0 || rowPtr[rowPtr.length - 1] != colIdx.length || colIdx.length != residual.length) {
            throw new IllegalArgumentException("inconsistent CSR arrays");
        }
        for (int r = 0; r + 1 < rowPtr.length; r++) {
            if (rowPtr[r + 1] < rowPtr[r]) {
                throw new IllegalArgumentException("row pointers decrease at row " + r);
            }
            for (int k = rowPtr[r] + 1; k < rowPtr[r + 1]; k++) {
                if (colIdx[k] <= colIdx[k - 1]) {
                    throw new IllegalArgumentException("column indices do not ascend in row " + r);
                }
            }
        }
    }

    public static Outliers none(int rows) {
        return new Outliers(new int[rows + 1], new int[0], new float[0]);
    }

    public int rows() {
        return rowPtr.length - 1;
    }

    public int count() {
        return colIdx.length;
    }

    /** Bits of residual storage per outlier (F16). */
    public static int residualBits() {
        return 16;
    }

    /**
     * Storage bits of the CSR structure for a matrix with {@code cols} columns: row pointers as u32,
     * column indices as u16 when they fit (cols at most 65,536), else i32, residuals as F16.
     */
    public long storageBits(long cols) {
        int idxBits = cols <= 65_536 ? 16 : 32;
        return count() == 0 ? 0 : (long) rowPtr.length * 32 + (long) count() * (idxBits + residualBits());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Outliers x && Arrays.equals(rowPtr, x.rowPtr) && Arrays.equals(colIdx, x.colIdx)
                && Arrays.equals(residual, x.residual);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(rowPtr) * 31 + Arrays.hashCode(colIdx);
    }
}
