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

    /** The tokens at {@code positions}, in that order, with all their fields. */
    public Encoding select(int... positions) {
        int n = positions.length;
        int[] id = new int[n];
        int[] type = new int[n];
        int[] start = new int[n];
        int[] end = new int[n];
        int[] mask = new int[n];
        int[] special = new int[n];
        java.util.List<String> toks = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int s = positions[i];
            id[i] = ids[s];
            type[i] = typeIds[s];
            start[i] = starts[s];
            end[i] = ends[s];
            mask[i] = attentionMask[s];
            special[i] = specialTokensMask[s];
            toks.add(tokens.get(s));
        }
        return new Encoding(id, toks, type, start, end, mask, special);
    }

    /**
     * At most {@code max} tokens: the first {@code max - 1} and the last, so the closing special token
     * ({@code [SEP]}, {@code </s>}) survives, as a model's position table requires.
     */
    public Encoding truncate(int max) {
        if (size() <= max) {
            return this;
        }
        int[] keep = new int[max];
        for (int i = 0; i < max - 1; i++) {
            keep[i] = i;
        }
        keep[max - 1] = size() - 1;
        return select(keep);
    }

    /** {@code [start, end]} of token {@code i}. */
    public int[] offset(int i) {
        return new int[] {starts[i], ends[i]};
    }
}
