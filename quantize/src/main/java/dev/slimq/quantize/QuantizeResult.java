package dev.slimq.quantize;

/**
 * What a run did: the report (also written into the output) and wall-clock timings, which go to
 * stdout only. For a dry run the report's per-tensor quality fields are NaN: nothing was quantized.
 *
 * @param outputBytes    size of every weight file written (or planned, for a dry run)
 * @param resumedTensors output tensors kept from an interrupted run with the same fingerprint
 */
public record QuantizeResult(QuantizationReport report, boolean dryRun, long inputBytes, long outputBytes,
                             double planSeconds, double quantizeSeconds, double totalSeconds, int resumedTensors) {

    /** A run that resumed nothing. */
    public QuantizeResult(QuantizationReport report, boolean dryRun, long inputBytes, long outputBytes,
                          double planSeconds, double quantizeSeconds, double totalSeconds) {
        this(report, dryRun, inputBytes, outputBytes, planSeconds, quantizeSeconds, totalSeconds, 0);
    }
}
