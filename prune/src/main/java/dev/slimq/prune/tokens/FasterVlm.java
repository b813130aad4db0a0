package dev.slimq.prune.tokens;

/**
 * FasterVLM — keep the patches with the most [CLS] attention (Zhang et al., "[CLS] Attention is All
 * You Need for Training-Free Visual Token Pruning", 2024; LightCompress {@code FasterVLM}).
 *
 * <p>Why: [CLS] attention in the vision tower is prompt-independent and is taken before the projector,
 * so it avoids FastV's attention shift in the language model. The selection is the same top-K as
 * {@link FastV}; what differs is where the scores come from ([CLS] → patch attention), and a leading
 * [CLS] token in the tensor is protected with {@code --keep-first}.
 */
public record FasterVlm() implements TokenMethod {
    @Override
    public String name() {
        return "fastervlm";
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
