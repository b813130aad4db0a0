package dev.slimq.core;

/**
 * Base of every expected failure in slimq: a one-line message meant for the user, and the
 * {@link Failure} category the CLI turns into an exit code. Anything else that escapes is a bug
 * (exit 1). Subclasses exist per format or subsystem so each can carry a machine-readable reason.
 */
public class SlimqException extends RuntimeException {
    private final Failure failure;

    public SlimqException(Failure failure, String message) {
        super(message);
        this.failure = failure;
    }

    public SlimqException(Failure failure, String message, Throwable cause) {
        super(message, cause);
        this.failure = failure;
    }

    public Failure failure() {
        return failure;
    }
}
