package dev.slimq.cli.recipe;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;

/**
 * A defect in a recipe file: syntax, an unknown key, a wrong type, an unknown variable, or a step
 * whose options its subcommand rejects. Always {@link Failure#BAD_INPUT} (exit 3), never
 * {@link Failure#USAGE}: the command line of {@code slimq run} was fine, the file it names is not,
 * just as a malformed checkpoint is bad input for {@code quantize}. The message starts with
 * {@code FILE:LINE:COLUMN:} so editors and CI annotations can jump to it.
 */
public final class RecipeFormatException extends SlimqException {
    private final int line;
    private final int column;

    public RecipeFormatException(String file, int line, int column, String message) {
        super(Failure.BAD_INPUT, file + ":" + line + ":" + column + ": " + message);
        this.line = line;
        this.column = column;
    }

    /** 1-based line of the defect, 0 when unknown. */
    public int line() {
        return line;
    }

    /** 1-based column of the defect, 0 when unknown. */
    public int column() {
        return column;
    }
}
