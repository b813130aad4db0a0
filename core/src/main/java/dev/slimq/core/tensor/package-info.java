/**
 * Element types and tensor views: {@link dev.slimq.core.tensor.DType} (every safetensors dtype by its
 * wire name), {@link dev.slimq.core.tensor.TensorInfo} (name, dtype, shape, byte range),
 * {@link dev.slimq.core.tensor.TensorView} (info plus mapped bytes) and
 * {@link dev.slimq.core.tensor.FloatCodec} (exact decoding and round-to-nearest-even encoding).
 * Nothing here knows about files.
 */
package dev.slimq.core.tensor;
