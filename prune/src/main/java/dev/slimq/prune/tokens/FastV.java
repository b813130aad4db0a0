package dev.slimq.prune.tokens;

/**
 * FastV — keep the tokens with the most attention (Chen et al., "An Image is Worth 1/2 Tokens After
 * Layer 2", ECCV 2024; LightCompress {@code FastV}).
 *
 * <p>Why: past the first layers, image tokens that the last text token barely attends to contribute
 * little. The scores are that attention (text → vision, heads averaged); the top-K tokens are kept.
 * Prompt-dependent: LLMC+ shows the ranking from the first question degrades later turns.
 */
public record FastV() implements TokenMethod {
    @Override
    public String name() {
        return "fastv";
    }

    @Override
    public boolean needsScores() {
        return true;
    }

    @Override
    public int[] group(TokenItem item, int budget) {
        return TokenMath.keepOnly(item.tokens(), TokenMath.topK(item.scores(), budget));
    }
}
