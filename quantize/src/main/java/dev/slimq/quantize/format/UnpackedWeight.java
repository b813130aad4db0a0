package dev.slimq.quantize.format;

import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;

/**
 * One quantized weight as a reader found it, before it is judged against the logical form: codes
 * one per byte, {@code groups} scales and zeros per row, and an optional group index per column (GPTQ
 * {@code g_idx}, compressed-tensors {@code weight_g_idx}) that may map columns to groups in any order.
 * {@link #dequantize} handles every such map; {@link #toQuantized} only the contiguous one the logical
 * form can express.
 *
 * @param gIdx      group of each column, or null for contiguous groups of {@code cols / groups}
 * @param symmetric what the checkpoint declares; the logical form is symmetric only if every zero is
 *                  also the midpoint
 */
record UnpackedWeight(String name, int rows, int cols, int bits, byte[] codes, int groups, float[] scales,
                      float[] zeros, int[] gIdx, boolean symmetric, boolean floatZeros, DType scaleDtype,
                      Outliers outliers) {

    UnpackedWeight {
        if (gIdx != null) {
            for (int c = 0; c < cols; c++) {
                if (gIdx[c] < 0 || gIdx[c] >= groups) {
                    throw TensorData.bad(name + ": group index " + gIdx[c] + " of column " + c + " is outside [0, " + groups + ")");
                }
            }
        } else if (cols % groups != 0) {
            throw TensorData.bad(name + ": " + groups + " groups do not divide " + cols + " columns");
        }
    }

    private int group(int c) {
        return gIdx == null ? c / (cols / groups) : gIdx[c];
    }

    /** Row-major floats {@code scale * (code - zero)} plus outlier residuals, for any group map. */
    float[] dequantize() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        int[] colGroup = new int[cols];
        for (int c = 0; c < cols; c++) {
            colGroup[c] = group(c);
        }
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            int gb = r * groups;
            for (int c = 0; c < cols; c++) {
                int gi = gb + colGroup[c];
                out[base + c] = scales[gi] * ((codes[base + c] & 0xFF) - zeros[gi]);
            }
            if (outliers != null) {
                for (int k = outliers.rowPtr()[r]; k < outliers.rowPtr()[r + 1]; k++) {
                    out[base + outliers.colIdx()[k]] += outliers.residual()[k];
                }
            }
        }
        return out;
    }

    /** The logical form; UNSUPPORTED when the checkpoint uses something it cannot express. */
    QuantizedTensor toQuantized() {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw TensorData.unsupported(name + ": " + bits + "-bit codes have no logical form in slimq (2, 3, 4 or 8 bits); dequantize it instead");
        }
        if (cols % groups != 0) {
            throw TensorData.unsupported(name + ": " + groups + " groups do not divide its " + cols
                    + " columns evenly, which the logical form requires; dequantize it instead");
        }
        int groupSize = cols / groups;
        if (gIdx != null) {
            for (int c = 0; c < cols; c++) {
                if (gIdx[c] != c / groupSize) {
                    throw TensorData.unsupported(name + ": its group index maps column " + c + " to group " + gIdx[c]
                            + " (act-order/desc_act); only contiguous groups have a logical form, so dequantize it instead");
                }
            }
        }
        boolean sym = symmetric && !floatZeros;
        float mid = 1 << (bits - 1);
        for (int i = 0; sym && i < zeros.length; i++) {
            sym = zeros[i] == mid;
        }
        QuantScheme scheme;
        try {
            scheme = new QuantScheme(bits, groupSize, sym, floatZeros ? ZeroMode.FLOAT : ZeroMode.INTEGER, scaleDtype);
        } catch (IllegalArgumentException e) {
            throw TensorData.unsupported(name + ": " + e.getMessage());
        }
        return new QuantizedTensor(name, rows, cols, scheme, codes, scales, zeros, outliers);
    }
}
