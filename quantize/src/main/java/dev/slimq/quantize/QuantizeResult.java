package dev.slimq.quantize;

/**
 * What a run did: the report (also written into the output) and wall-clock timings, which go to
 * stdout only. For a dry run the report's per-tensor quality fields are NaN: nothing was quantized.
 *
 * @param outputBytes size of every weight file written (or planned, for a dry run)
 */
public record QuantizeResult(QuantizationReport report, boolean dryRun, long inputBytes, long outputBytes,
                             double planSeconds, double quantizeSeconds, double totalSeconds) {
}
