package dev.slimq.cli.recipe;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parsed recipe, before variables are resolved.
 *
 * @param file  the recipe path as given, for messages
 * @param version format version; only 1 exists
 * @param vars  default values of variables (overridden by {@code --set})
 * @param steps the steps, in order
 */
public record Recipe(String file, int version, Map<String, String> vars, List<Step> steps) {

    /** The subcommands a step may name; the ones that write take an {@code out}. */
    public static final Set<String> COMMANDS =
            Set.of("quantize", "dequantize", "validate", "convert", "prune", "reduce-tokens", "trim-vocab", "eval", "inspect");

    /** Subcommands with a second positional (OUT). */
    public static final Set<String> WRITERS = Set.of("quantize", "dequantize", "convert", "prune", "reduce-tokens", "trim-vocab");

    /**
     * One step as written.
     *
     * @param index   0-based position
     * @param line    1-based line of the step in the file
     * @param column  1-based column of the step in the file
     * @param name    display name (the command when not given)
     * @param command the subcommand
     * @param in      first positional
     * @param out     second positional, only for commands that write
     * @param args    option name (without dashes) to value, in file order
     */
    public record Step(int index, int line, int column, String name, String command, String in, String out,
            Map<String, ArgValue> args) {

        /** How messages name the step: {@code step 2 'validate'}. */
        public String label() {
            return "step " + (index + 1) + " '" + name + "'";
        }
    }

    /**
     * An option value: a flag ({@code true}), an omitted flag ({@code false}), one value, or a list
     * of values (the option repeated).
     */
    public sealed interface ArgValue {
        /** {@code true}: the option alone; {@code false}: left out (lets a recipe spell out a default). */
        record Flag(boolean on) implements ArgValue {
        }

        /** One value, kept as the text written (numbers are not reformatted). */
        record Scalar(String text) implements ArgValue {
        }

        /** The option once per value, in order. */
        record Many(List<String> texts) implements ArgValue {
        }
    }
}
