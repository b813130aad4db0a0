/**
 * The quality report's per-tensor measurements (DESIGN.md section 3, "Report"): {@link
 * dev.slimq.quantize.quality.QualityMetrics} compares a {@link dev.slimq.core.quant.QuantizedTensor} with the
 * weights it came from, in float64 and deterministically, so the numbers can go into
 * {@code quantization-report.json}.
 */
package dev.slimq.quantize.quality;
