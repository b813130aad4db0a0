package dev.slimq.core.tokenizer;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.nio.file.Path;

/**
 * A {@code tokenizer.json} that is malformed ({@link Failure#BAD_INPUT}) or uses a component slimq does
 * not implement ({@link Failure#UNSUPPORTED}). The message is one line and names the file.
 */
public final class TokenizerFormatException extends SlimqException {
    public TokenizerFormatException(Failure failure, Path file, String reason) {
        super(failure, file + ": " + reason);
    }

    public TokenizerFormatException(Failure failure, Path file, String reason, Throwable cause) {
        super(failure, file + ": " + reason, cause);
    }
}
