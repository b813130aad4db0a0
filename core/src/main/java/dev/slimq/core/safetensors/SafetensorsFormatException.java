package dev.slimq.core.safetensors;

import dev.slimq.core.Text;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A safetensors file violates the format. Carries the {@link Reason} (one per rule of the reference
 * reader, so callers and tests can tell them apart), the file and, where one is involved, the tensor.
 * The message is a single line: {@code FILE: tensor 'NAME': what is wrong}.
 */
public final class SafetensorsFormatException extends SlimqException {

    /** Each way a file can be malformed. */
    public enum Reason {
        FILE_TOO_SHORT,
        HEADER_TOO_LARGE,
        HEADER_PAST_EOF,
        HEADER_NOT_UTF8,
        HEADER_NOT_JSON,
        HEADER_NOT_OBJECT,
        DUPLICATE_NAME,
        UNKNOWN_DTYPE,
        MISSING_FIELD,
        MISTYPED_FIELD,
        NEGATIVE_DIMENSION,
        SIZE_OVERFLOW,
        OFFSETS_NOT_FROM_ZERO,
        OFFSETS_HOLE,
        OFFSETS_OVERLAP,
        OFFSETS_REVERSED,
        BYTE_SIZE_MISMATCH,
        SUB_BYTE_MISALIGNED,
        DATA_NOT_AT_EOF,
        METADATA_NOT_STRING
    }

    private final Reason reason;
    private final Path file;
    private final String tensor;

    public SafetensorsFormatException(Reason reason, Path file, String tensor, String detail) {
        super(Failure.BAD_INPUT, format(file, tensor, detail));
        this.reason = reason;
        this.file = file;
        this.tensor = tensor;
    }

    public Reason reason() {
        return reason;
    }

    public Path file() {
        return file;
    }

    public Optional<String> tensor() {
        return Optional.ofNullable(tensor);
    }

    private static String format(Path file, String tensor, String detail) {
        StringBuilder sb = new StringBuilder();
        sb.append(file).append(": ");
        if (tensor != null) {
            sb.append("tensor '").append(Text.oneLine(tensor)).append("': ");
        }
        return sb.append(detail).toString();
    }

}
