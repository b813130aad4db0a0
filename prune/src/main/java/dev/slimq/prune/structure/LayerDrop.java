package dev.slimq.prune.structure;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Depth pruning ({@code --drop-layers}): which whole transformer layers go. Either named layers or
 * the {@code N} least important ones (ShortGPT's rule, the same layer importance the width
 * allocation uses: {@code 1 − cos_in_out} from the statistics, else the weight proxy).
 */
public sealed interface LayerDrop {

    /** No depth pruning. */
    record None() implements LayerDrop {
    }

    /**
     * These layers, by their index in the input model.
     *
     * @param layers distinct indices, ascending
     */
    record Named(List<Integer> layers) implements LayerDrop {
        public Named {
            layers = List.copyOf(new TreeSet<>(layers));
        }
    }

    /**
     * The {@code count} layers of lowest importance (ties: the later layer goes first, as deeper
     * layers are the more redundant ones in ShortGPT's and Gromov et al.'s measurements).
     */
    record Lowest(int count) implements LayerDrop {
        public Lowest {
            if (count < 1) {
                throw new SlimqException(Failure.USAGE, "--drop-layers auto:N needs N of at least 1, got " + count);
            }
        }
    }

    LayerDrop NONE = new None();

    /** Parses {@code 3,7} or {@code auto:2}; null or blank is {@link #NONE}. */
    static LayerDrop parse(String spec) {
        if (spec == null || spec.isBlank()) {
            return NONE;
        }
        String s = spec.strip();
        try {
            if (s.startsWith("auto:")) {
                return new Lowest(Integer.parseInt(s.substring(5).strip()));
            }
            List<Integer> l = new ArrayList<>();
            for (String part : s.split(",")) {
                int i = Integer.parseInt(part.strip());
                if (i < 0) {
                    throw new SlimqException(Failure.USAGE, "--drop-layers: layer index " + i + " is negative");
                }
                if (l.contains(i)) {
                    throw new SlimqException(Failure.USAGE, "--drop-layers: layer " + i + " is named twice");
                }
                l.add(i);
            }
            return new Named(l);
        } catch (NumberFormatException e) {
            throw new SlimqException(Failure.USAGE, "--drop-layers '" + spec + "': expected layer indices like 3,7 or auto:N");
        }
    }

    /**
     * The layers to drop, ascending, for a model of {@code layers} layers with raw (unnormalized,
     * larger = more important) layer importance {@code importance}.
     */
    default boolean[] resolve(int layers, double[] importance) {
        boolean[] drop = new boolean[layers];
        switch (this) {
            case None n -> {
                return drop;
            }
            case Named(List<Integer> named) -> {
                for (int i : named) {
                    if (i >= layers) {
                        throw new SlimqException(Failure.USAGE, "--drop-layers: layer " + i + " does not exist (the model has "
                                + layers + " layers, 0.." + (layers - 1) + ")");
                    }
                    drop[i] = true;
                }
            }
            case Lowest(int count) -> {
                if (count >= layers) {
                    throw new SlimqException(Failure.UNSUPPORTED, "--drop-layers auto:" + count + " would leave no layer of " + layers);
                }
                Integer[] order = new Integer[layers];
                Arrays.setAll(order, i -> i);
                Arrays.sort(order, (a, b) -> {
                    int c = Double.compare(importance[a], importance[b]);
                    return c != 0 ? c : Integer.compare(b, a);
                });
                for (int i = 0; i < count; i++) {
                    drop[order[i]] = true;
                }
            }
        }
        int left = 0;
        for (boolean d : drop) {
            left += d ? 0 : 1;
        }
        if (left == 0) {
            throw new SlimqException(Failure.UNSUPPORTED, "--drop-layers would remove all " + layers + " layers");
        }
        return drop;
    }

    /** Whether any layer is dropped. */
    default boolean any() {
        return !(this instanceof None);
    }

    /** The CLI form, for the report. */
    default String spec() {
        return switch (this) {
            case None n -> "";
            case Named(List<Integer> l) -> String.join(",", l.stream().map(String::valueOf).toList());
            case Lowest(int c) -> "auto:" + c;
        };
    }
}
