/**
 * GGUF v3, the file format of llama.cpp and ggml: a streaming, atomic {@link dev.slimq.convert.gguf.GgufWriter},
 * a strict {@link dev.slimq.convert.gguf.GgufFile} reader that rejects hostile files with a
 * {@link dev.slimq.convert.gguf.GgufFormatException}, the block layouts as pure data
 * ({@link dev.slimq.convert.gguf.GgmlType}) and, separately, the reference quantizers and dequantizers
 * ({@link dev.slimq.convert.gguf.GgmlBlocks}).
 *
 * <p>Sources of every layout fact: ggml-org/ggml {@code docs/gguf.md} (file structure, value types,
 * alignment), {@code include/gguf.h} (magic, version 3, default alignment 32), {@code src/gguf.cpp}
 * (what the reference reader rejects), {@code src/ggml-common.h} (block structs) and
 * {@code src/ggml-quants.c} ({@code quantize_row_q4_0_ref}, {@code quantize_row_q4_1_ref},
 * {@code quantize_row_q8_0_ref} and the {@code dequantize_row_*} functions); summarized with
 * citations in {@code shared/research/formats_ecosystem.md} section 5.
 */
package dev.slimq.convert.gguf;
