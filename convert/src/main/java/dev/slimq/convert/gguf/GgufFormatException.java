package dev.slimq.convert.gguf;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.Text;
import java.nio.file.Path;

/**
 * A GGUF file failed validation. The {@link Reason} says which rule it broke, for tests and tools;
 * the message (one line) says where.
 */
public final class GgufFormatException extends SlimqException {
    /** Every rule {@link GgufFile} enforces. */
    public enum Reason {
        TRUNCATED, BAD_MAGIC, UNSUPPORTED_VERSION, COUNT_BEYOND_FILE, STRING_BEYOND_FILE, BAD_UTF8,
        UNKNOWN_VALUE_TYPE, BAD_ALIGNMENT, DUPLICATE_KEY, DUPLICATE_TENSOR, NAME_TOO_LONG, TOO_MANY_DIMS,
        BAD_DIM, UNKNOWN_TENSOR_TYPE, NOT_BLOCK_MULTIPLE, OFFSET_MISALIGNED, OFFSET_OUT_OF_RANGE, OVERLAP,
        ARRAY_TOO_DEEP
    }

    private final Reason reason;

    public GgufFormatException(Reason reason, Path file, String detail) {
        super(Failure.BAD_INPUT, file + ": not a valid GGUF file (" + reason.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + "): "
                + Text.oneLine(detail));
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
