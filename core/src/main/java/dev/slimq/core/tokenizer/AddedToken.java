package dev.slimq.core.tokenizer;

/**
 * One entry of {@code added_tokens} in tokenizer.json, as {@code tokenizers/src/tokenizer/added_vocabulary.rs}
 * defines it: these are matched in the text before the model runs (leftmost, longest first), on the raw
 * text when {@code normalized} is false and on the normalized text otherwise.
 *
 * @param lstrip     the match swallows whitespace on its left
 * @param rstrip     the match swallows whitespace on its right
 * @param singleWord only matches when not inside a word
 * @param special    skipped by {@link Tokenizer#decode(int[])}
 */
public record AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                         boolean normalized, boolean special) {
    public AddedToken {
        if (content == null || content.isEmpty()) {
            throw new IllegalArgumentException("added token " + id + " has empty content");
        }
    }
}
