/**
 * Forward passes for eval and calibrate (issue 5). slimq runs models itself because the trustworthy
 * measure of a compressed model is its outputs against the original's, and pruning's importance
 * scores need activation statistics. Done: the BERT-family encoder ({@code runtime.bert}) and encoder
 * eval ({@code runtime.eval}). Not yet: Llama-family decoders, calibrate, quantized inputs (dequantize
 * first: {@code runtime} does not depend on {@code quantize}).
 */
package dev.slimq.runtime;
