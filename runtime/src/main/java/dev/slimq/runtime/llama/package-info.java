/**
 * The Llama-family decoder forward pass (llama, mistral, qwen2 with q/k/v biases, qwen3 with q/k
 * norms): weights decoded to floats once ({@link dev.slimq.runtime.llama.LlamaWeights}), batched causal
 * prefill over a window of tokens on the {@link dev.slimq.core.parallel.WorkPool}, bit-identical for
 * any thread count ({@link dev.slimq.runtime.llama.LlamaDecoder}), and perplexity over non-overlapping
 * windows ({@link dev.slimq.runtime.llama.Perplexity}). No KV cache: evaluation only needs prefill.
 */
package dev.slimq.runtime.llama;
