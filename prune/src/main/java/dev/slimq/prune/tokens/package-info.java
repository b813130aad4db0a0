/**
 * Token reduction on token tensors {@code [batch, tokens, dim]} ({@code slimq reduce-tokens}; DESIGN.md
 * section 4, research notes pruning_tokens.md sections 4 and 6).
 *
 * <p>Why: vision and video encoders emit hundreds of tokens per image or frame, most of them redundant;
 * a language model attending over fewer tokens is cheaper at prefill and in its KV cache. The methods
 * here are the training-free ones of LLMC+ (Lv et al., arXiv 2508.09981) that need only the token
 * features, plus attention scores for the score-driven ones. Every method is a {@link
 * dev.slimq.prune.tokens.TokenMethod} record of settings; it maps one batch item to a grouping of its
 * tokens ({@code groupOf[i]} = the representative position of token {@code i}'s group, or -1 when the
 * token is dropped), and {@link dev.slimq.prune.tokens.Reduction} turns that grouping into output tokens
 * (size-weighted means of the groups), ascending representative positions and group sizes. So merging is
 * size-weighted by construction, and a method that drops nothing keeps the mean of the tokens exactly.
 *
 * <p>Every batch item gets the same budget K, results are deterministic (seeded, fixed tie-breaks:
 * the lower position wins) and independent of the thread count (work is split per batch item).
 */
package dev.slimq.prune.tokens;
