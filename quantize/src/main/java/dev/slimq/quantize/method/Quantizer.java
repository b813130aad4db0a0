package dev.slimq.quantize.method;

import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import java.util.List;

/**
 * A data-free weight quantizer (DESIGN.md section 3): one record of settings per method.
 *
 * <p>Contract shared by every method:
 * <ul>
 *   <li>{@code w} is row-major {@code [rows, cols]}; groups of {@code scheme.groupSize()} consecutive
 *       weights of a row share a scale and a zero; the group size divides {@code cols}
 *       ({@code groupSize == cols} is per-channel).</li>
 *   <li>Every zero mode, symmetric or not, bits 2/3/4/8, scale dtypes F16/BF16/F32. Stored scales and
 *       float zeros are already rounded to the scale dtype, and codes are computed against the stored
 *       values. No NaN is ever produced from finite weights.</li>
 *   <li>A NaN or infinite weight is refused with {@link dev.slimq.core.Failure#BAD_INPUT} naming its row
 *       and column; the caller adds the file.</li>
 *   <li>Deterministic (same output on every run, host and vector width) and thread-safe (no shared
 *       mutable state). Rows are independent: quantizing a block of rows gives exactly those rows of
 *       the whole result, so a caller may split rows across threads and {@link #concatRows} the blocks.</li>
 * </ul>
 */
public sealed interface Quantizer permits Rtn, Search, EasyQuant, Hqq {

    /**
     * Quantizes rows {@code [firstRow, firstRow + rowCount)} of the row-major matrix {@code w}
     * ({@code cols} columns); the result has {@code rowCount} rows. Error messages give row numbers of {@code w}.
     */
    QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme);

    /** Quantizes the whole {@code [rows, cols]} matrix {@code w}. */
    default QuantizedTensor quantize(String name, float[] w, int rows, int cols, QuantScheme scheme) {
        return quantizeRows(name, w, cols, 0, rows, scheme);
    }

    /** Whether this method accepts {@code scheme} for rows of {@code cols} weights ({@link Hqq} refuses per-channel). */
    default boolean supports(QuantScheme scheme, int cols) {
        return true;
    }

    /** The method's name as the CLI spells it. */
    String methodName();

    /** Stacks row blocks of one matrix (same scheme and columns) in order into one tensor. */
    static QuantizedTensor concatRows(String name, List<QuantizedTensor> blocks) {
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException(name + ": no row blocks");
        }
        QuantizedTensor first = blocks.getFirst();
        int cols = first.cols();
        int rows = 0;
        int outliers = 0;
        for (QuantizedTensor b : blocks) {
            if (b.cols() != cols || !b.scheme().equals(first.scheme())) {
                throw new IllegalArgumentException(name + ": row blocks differ in columns or scheme");
            }
            rows = Math.addExact(rows, b.rows());
            outliers = Math.addExact(outliers, b.outliers().count());
        }
        int gpr = first.groupsPerRow();
        byte[] codes = new byte[Math.multiplyExact(rows, cols)];
        float[] scales = new float[rows * gpr];
        float[] zeros = new float[rows * gpr];
        int[] rowPtr = new int[rows + 1];
        int[] colIdx = new int[outliers];
        float[] residual = new float[outliers];
        int r0 = 0;
        int k0 = 0;
        for (QuantizedTensor b : blocks) {
            System.arraycopy(b.codes(), 0, codes, r0 * cols, b.codes().length);
            System.arraycopy(b.scales(), 0, scales, r0 * gpr, b.scales().length);
            System.arraycopy(b.zeros(), 0, zeros, r0 * gpr, b.zeros().length);
            Outliers o = b.outliers();
            System.arraycopy(o.colIdx(), 0, colIdx, k0, o.count());
            System.arraycopy(o.residual(), 0, residual, k0, o.count());
            for (int r = 1; r <= b.rows(); r++) {
                rowPtr[r0 + r] = k0 + o.rowPtr()[r];
            }
            r0 += b.rows();
            k0 += o.count();
        }
        Outliers all = outliers == 0 ? null : new Outliers(rowPtr, colIdx, residual);
        return new QuantizedTensor(name, rows, cols, first.scheme(), codes, scales, zeros, all);
    }
}
