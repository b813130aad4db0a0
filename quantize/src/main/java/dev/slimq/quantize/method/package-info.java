/**
 * The data-free quantizers (DESIGN.md section 3; algorithms and sources in research/quantization.md):
 * one {@link dev.slimq.quantize.method.Quantizer} record of settings per method,
 * {@link dev.slimq.quantize.method.Rtn}, {@link dev.slimq.quantize.method.Search},
 * {@link dev.slimq.quantize.method.EasyQuant} and {@link dev.slimq.quantize.method.Hqq}, each turning a
 * row-major float matrix into a {@link dev.slimq.core.quant.QuantizedTensor}; and
 * {@link dev.slimq.quantize.method.FineQuant}, which chooses a group size for a fused group of matrices
 * with any of them, by a {@link dev.slimq.quantize.method.Granularity} rule (bits-aware by default).
 *
 * <p>Inside: {@code Grid} holds the group math every method shares (min-max, sweep, least-squares
 * refits, alternation, rounding to stored values); {@code Kernels} the hot loops, as a scalar reference
 * ({@code ScalarKernels}) and a Vector API fast path ({@code VectorKernels}) that agree bit for bit on
 * every host, so outputs never depend on the machine or the thread count.
 */
package dev.slimq.quantize.method;
