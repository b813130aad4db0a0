package dev.slimq.quantize;

import java.util.List;
import java.util.Map;

/**
 * {@code quantization-report.json}: what was done to every tensor and how close the result is, with
 * deterministic content only (no timings, hosts or dates), so the same run gives the same bytes.
 *
 * @param bitsPerWeight native bits per quantized weight over all quantized tensors: codes, scales,
 *                      zeros and outlier storage (DESIGN.md section 3)
 * @param storedBytes   bytes the chosen format actually stores for the quantized tensors
 * @param outliers      "kept" (sparse residuals), "off", or "dropped: FORMAT cannot store them"
 * @param notes         fallbacks and policy decisions the user should know about
 * @param tensors       one entry per quantized weight, by name
 */
public record QuantizationReport(String method, String format, int bits, String groupSize, boolean symmetric,
                                 String zeroMode, String scaleDtype, String outliers, long quantizedWeights,
                                 int tensorCount, double bitsPerWeight, long storedBytes, double meanSqnrDb,
                                 List<String> notes, List<TensorEntry> tensors) {

    /**
     * One quantized weight.
     *
     * @param groupSize   the group size used (equal to {@code cols} for per-channel)
     * @param finequant   per candidate group size ("channel", "256", ...): relative Frobenius error of the fused group
     */
    public record TensorEntry(String name, int rows, int cols, String method, int bits, int groupSize, String zeroMode,
                              boolean symmetric, double outlierFraction, double sqnrDb, double relFrobeniusError,
                              double maxAbsError, double outputRelError, double bitsPerWeight, long storedBytes,
                              Map<String, Double> finequant) {
    }
}
