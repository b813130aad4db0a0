package dev.slimq.prune.tokens;

/**
 * One batch item: {@code tokens × dim} features (row-major), optional per-token attention scores (heads
 * already averaged) and the number of frames the tokens are laid out in (1 for an image).
 *
 * @param index  the batch position, which seeds randomized methods so results do not depend on scheduling
 * @param scores {@code tokens} values, or {@code null} when none were given
 * @param frames tokens = frames × per-frame tokens
 */
public record TokenItem(int index, int tokens, int dim, float[] features, float[] scores, int frames) {
    public TokenItem {
        if (tokens < 1 || dim < 1 || frames < 1) {
            throw new IllegalArgumentException("tokens, dim and frames must be positive: " + tokens + ", " + dim + ", " + frames);
        }
        if (features.length != (long) tokens * dim) {
            throw new IllegalArgumentException("features hold " + features.length + " values, expected " + tokens + " × " + dim);
        }
        if (scores != null && scores.length != tokens) {
            throw new IllegalArgumentException("scores hold " + scores.length + " values, expected " + tokens);
        }
        if (tokens % frames != 0) {
            throw new IllegalArgumentException(tokens + " tokens do not split into " + frames + " frames");
        }
    }

    /** Tokens {@code [from, tokens)} as their own item (used to protect a leading [CLS] token). */
    TokenItem tail(int from) {
        int n = tokens - from;
        float[] f = java.util.Arrays.copyOfRange(features, from * dim, tokens * dim);
        float[] s = scores == null ? null : java.util.Arrays.copyOfRange(scores, from, tokens);
        return new TokenItem(index, n, dim, f, s, frames);
    }
}
