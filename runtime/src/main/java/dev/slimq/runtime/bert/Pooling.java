package dev.slimq.runtime.bert;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Locale;

/**
 * How token states become one sentence embedding (then L2-normalized). Mean pooling over the attention
 * mask is the default: it is what most sentence-transformers encoders use and it spreads a compressed
 * model's error over all tokens; bge's own recipe is {@link #CLS}.
 */
public enum Pooling {
    /** The mean of the final hidden states of the tokens whose attention mask is 1. */
    MEAN,
    /** The final hidden state of the first token ({@code [CLS]} / {@code <s>}). */
    CLS;

    /** {@code mean} or {@code cls}, any case. */
    public static Pooling parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "mean" -> MEAN;
            case "cls" -> CLS;
            default -> throw new SlimqException(Failure.USAGE, "unknown pooling '" + s + "'; use mean or cls");
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
