package dev.slimq.core.tokenizer;

import java.util.List;

/**
 * The result of {@link Tokenizer#encode}: parallel arrays, one entry per token, as the library's
 * {@code Encoding} ({@code tokenizers/src/tokenizer/encoding.rs}) for a single sequence. Offsets are
 * UTF-16 {@code char} indices into the input string ({@code [start, end)}), like Python's {@code str}
 * offsets for text in the Basic Multilingual Plane; tokens the post-processor adds have {@code (0, 0)}.
 * Arrays are shared, not copied: do not modify them (and record equality compares them by identity).
 */
public record Encoding(int[] ids, List<String> tokens, int[] typeIds, int[] starts, int[] ends,
                       int[] attentionMask, int[] specialTokensMask) {
    public Encoding {
        int n = ids.length;
        if (tokens.size() != n || typeIds.length != n || starts.length != n || ends.length != n
                || attentionMask.length != n || specialTokensMask.length != n) {
            throw new IllegalArgumentException("encoding arrays differ in length");
        }
        tokens = List.copyOf(tokens);
    }

    public int size() {
        return ids.length;
    }

    /** {@code [start, end]} of token {@code i}. */
    public int[] offset(int i) {
        return new int[] {starts[i], ends[i]};
    }
}
