/**
 * The logical form of quantized weights, shared by the quantizers, the format writers and readers,
 * and the compute backends: {@link dev.slimq.core.quant.QuantizedTensor} with its
 * {@link dev.slimq.core.quant.QuantScheme} and sparse {@link dev.slimq.core.quant.Outliers}.
 */
package dev.slimq.core.quant;
