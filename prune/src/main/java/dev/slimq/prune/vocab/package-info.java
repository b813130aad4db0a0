/**
 * Vocabulary trimming ({@code slimq trim-vocab}; DESIGN.md section 4, issue 7 section 3).
 *
 * <p>Why: in small models the token embedding (and an untied output head) is a large share of the
 * parameters — about a sixth of bge-small's 33M — while a deployment in one language or domain uses a
 * small fraction of the vocabulary. Dropping the unused rows shrinks the model without touching any
 * computation on the tokens that remain: kept rows are copied byte for byte, so a text made only of kept
 * tokens gives bit-identical outputs. The tokenizer is rewritten so it still produces every kept token
 * (special tokens, byte-level BPE's 256 byte tokens, every BPE merge on a kept token's merge path, and
 * for Unigram the unknown piece, byte-fallback pieces and the lowest-scoring piece, scores unchanged)
 * and numbers them consecutively in the original order.
 */
package dev.slimq.prune.vocab;
