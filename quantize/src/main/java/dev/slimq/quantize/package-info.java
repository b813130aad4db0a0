/**
 * Data-free weight-only quantization (DESIGN.md section 3): the services behind {@code slimq quantize},
 * {@code dequantize} and {@code validate}, the tensor policy and the report. The algorithms live in
 * {@code method} (rtn, search, easyquant, finequant, hqq), the storage formats in {@code format}
 * (compressed-tensors, gptq, slimq, dequantized), the error measures in {@code quality}.
 */
package dev.slimq.quantize;
