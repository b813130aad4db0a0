/**
 * Format conversion ({@code slimq convert}): Hugging Face safetensors checkpoints to GGUF and back,
 * dtype casts and resharding between safetensors checkpoints. {@link dev.slimq.convert.ConvertService}
 * is the entry point; the GGUF format is in {@code dev.slimq.convert.gguf}, the per-architecture mapping
 * in {@code dev.slimq.convert.hf}. Arrow export and slimq-quantized GGUF blocks (issue 8 items 2 and 7)
 * are not implemented yet.
 */
package dev.slimq.convert;
