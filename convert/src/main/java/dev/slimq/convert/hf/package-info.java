/**
 * Hugging Face checkpoint to GGUF model mapping, as llama.cpp's {@code convert_hf_to_gguf.py} does it
 * (classes {@code LlamaModel}, {@code Qwen2Model}, {@code BertModel}; names from
 * {@code gguf-py/gguf/constants.py} and {@code tensor_mapping.py}): architecture metadata keys, tensor
 * names, the Q/K row permutation of llama/mistral, per-tensor type choice, and tokenizer metadata from
 * {@code tokenizer.json}.
 */
package dev.slimq.convert.hf;
