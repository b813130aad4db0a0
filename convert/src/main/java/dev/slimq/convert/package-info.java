/**
 * Format conversion ({@code slimq convert}): Hugging Face safetensors checkpoints to GGUF and back,
 * dtype casts and resharding between safetensors checkpoints. {@link dev.slimq.convert.ConvertService}
 * is the entry point; the GGUF format is in {@code dev.slimq.convert.gguf}, the per-architecture mapping
 * in {@code dev.slimq.convert.hf}; GGUF blocks can take slimq's quantizers ({@code --method}). Arrow export (issue 8 item 7)
 * is not implemented yet.
 */
package dev.slimq.convert;
