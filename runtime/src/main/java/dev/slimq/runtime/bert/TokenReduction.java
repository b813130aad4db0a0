package dev.slimq.runtime.bert;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Locale;

/**
 * Token reduction between the layers of the BERT forward pass ({@code slimq eval --token-reduction}).
 * The [CLS] token (position 0) is never reduced; padding tokens are dropped at the first reduction.
 */
public sealed interface TokenReduction {
    /** Whether the hidden states entering layer {@code layer} (of {@code layers}) are reduced. */
    boolean appliesBefore(int layer, int layers);

    /** The spec as {@link #parse} reads it. */
    String spec();

    /**
     * ToMe (bipartite soft matching on the hidden states' cosine, size-weighted merges) of {@code r}
     * tokens before every layer after the first; r is capped so at least one token besides [CLS] remains.
     */
    record ToMe(int r) implements TokenReduction {
        public ToMe {
            if (r < 0) {
                throw new SlimqException(Failure.USAGE, "tome: r must be at least 0, got " + r);
            }
        }

        @Override
        public boolean appliesBefore(int layer, int layers) {
            return r > 0 && layer >= 1;
        }

        @Override
        public String spec() {
            return "tome:r=" + r;
        }
    }

    /**
     * DivPrune: once, before layer {@code layer}, keep the fraction {@code keep} of the tokens besides
     * [CLS] (at least one) by greedy max–min cosine diversity; the rest are dropped.
     */
    record DivPrune(double keep, int layer) implements TokenReduction {
        public DivPrune {
            if (!(keep > 0 && keep <= 1)) {
                throw new SlimqException(Failure.USAGE, "divprune: keep must be in (0, 1], got " + keep);
            }
            if (layer < 0) {
                throw new SlimqException(Failure.USAGE, "divprune: layer must be at least 0, got " + layer);
            }
        }

        @Override
        public boolean appliesBefore(int l, int layers) {
            if (layer >= layers) {
                throw new SlimqException(Failure.USAGE, "divprune@" + layer + ": the model has only " + layers + " layers");
            }
            return l == layer && keep < 1;
        }

        @Override
        public String spec() {
            return "divprune:keep=" + keep + "@" + layer;
        }
    }

    /** {@code tome:r=N} or {@code divprune:keep=F@L}. */
    static TokenReduction parse(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.startsWith("tome:r=")) {
                return new ToMe(Integer.parseInt(s.substring("tome:r=".length())));
            }
            if (s.startsWith("divprune:keep=")) {
                String rest = s.substring("divprune:keep=".length());
                int at = rest.indexOf('@');
                if (at < 0) {
                    throw new SlimqException(Failure.USAGE, "divprune needs a layer: divprune:keep=F@L");
                }
                return new DivPrune(Double.parseDouble(rest.substring(0, at)), Integer.parseInt(rest.substring(at + 1)));
            }
        } catch (NumberFormatException e) {
            throw new SlimqException(Failure.USAGE, "bad number in --token-reduction '" + spec + "'");
        }
        throw new SlimqException(Failure.USAGE, "unknown --token-reduction '" + spec + "'; use tome:r=N or divprune:keep=F@L");
    }
}
