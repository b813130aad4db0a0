package dev.slimq.prune.tokens;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * A token-reduction method: maps one batch item and a budget K to a grouping of its tokens (see the
 * package documentation). Implementations are records of their settings; {@link #of} is the one
 * name → method map the CLI uses.
 */
public sealed interface TokenMethod permits ToMe, DivPrune, Dart, VisionZip, FastV, FasterVlm, TemporalMerge, RandomSelection, GridPool {
    /** The CLI name ({@code --method}). */
    String name();

    /** Whether the method ranks tokens by attention scores and so cannot run without them. */
    default boolean needsScores() {
        return false;
    }

    /** Whether the method needs a frame axis ({@code --frames}). */
    default boolean needsFrames() {
        return false;
    }

    /**
     * The grouping for {@code item} with exactly {@code budget} groups ({@code 1 <= budget <= tokens}):
     * {@code groupOf[i]} is the representative position of token i's group, or -1 when it is dropped.
     */
    int[] group(TokenItem item, int budget);

    /** Settings of every method; each method reads the ones it has. */
    record Settings(long seed, double threshold, int pivots, int contextual) {
        public static final Settings DEFAULTS = new Settings(0, 0.9, 8, 0);
    }

    /** Method names in the order the CLI lists them. */
    List<String> NAMES = List.of("tome", "divprune", "dart", "visionzip", "fastv", "fastervlm", "temporal", "random", "pool");

    /** The method called {@code name}; throws {@link IllegalArgumentException} for an unknown name. */
    static TokenMethod of(String name, Settings s) {
        Map<String, Function<Settings, TokenMethod>> factories = Map.of(
                "tome", x -> new ToMe(),
                "divprune", x -> new DivPrune(),
                "dart", x -> new Dart(x.pivots()),
                "visionzip", x -> new VisionZip(x.contextual()),
                "fastv", x -> new FastV(),
                "fastervlm", x -> new FasterVlm(),
                "temporal", x -> new TemporalMerge(x.threshold()),
                "random", x -> new RandomSelection(x.seed()),
                "pool", x -> new GridPool());
        Function<Settings, TokenMethod> f = factories.get(name.toLowerCase(Locale.ROOT));
        if (f == null) {
            throw new IllegalArgumentException("unknown token-reduction method '" + name + "'; use one of " + String.join(", ", NAMES));
        }
        return f.apply(s);
    }
}
