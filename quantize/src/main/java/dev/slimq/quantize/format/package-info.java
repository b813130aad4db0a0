/**
 * Output formats for quantized weights and readers for checkpoints already quantized
 * (DESIGN.md section 3, {@code --format}): {@link dev.slimq.quantize.format.QuantFormat} with one
 * class per format — compressed-tensors pack-quantized, GPTQ (v1/v2), slimq's native format, and
 * dequantized floats — and {@link dev.slimq.quantize.format.QuantizedCheckpointReader} for reading
 * compressed-tensors, GPTQ and slimq checkpoints back, whoever wrote them.
 *
 * <p>Formats are layout and naming only; quantizers produce the logical
 * {@link dev.slimq.core.quant.QuantizedTensor} in the zero mode a format asks for, and a format refuses
 * (exit 4, naming the option to change) what it cannot store rather than changing it. Every layout fact
 * cites its source (repository and path) in the class that implements it; the packing rules shared by
 * several formats are in {@code BitPacking}. The native format's specification is the resource
 * {@code slimq-format.md}.
 */
package dev.slimq.quantize.format;
