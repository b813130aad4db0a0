package dev.slimq.core.layout;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Optional;

/**
 * A config.json that is malformed, mistyped, internally inconsistent, or inconsistent with the
 * checkpoint's tensors. Always {@link Failure#BAD_INPUT}: the file is wrong, not slimq's support.
 *
 * <p>The message is one line that names the config file and the field, and the tensor when a tensor
 * disagrees with the config; {@link #field()} and {@link #tensor()} carry them for programs and tests.
 */
public final class ModelConfigException extends SlimqException {
    private final String field;
    private final String tensor;

    public ModelConfigException(String field, String message) {
        this(field, null, message);
    }

    public ModelConfigException(String field, String tensor, String message) {
        super(Failure.BAD_INPUT, message);
        this.field = field;
        this.tensor = tensor;
    }

    /** The config.json key at fault, e.g. {@code num_key_value_heads}; empty when the whole file is. */
    public String field() {
        return field;
    }

    /** The tensor that contradicts the config, when the fault was found by comparing with tensors. */
    public Optional<String> tensor() {
        return Optional.ofNullable(tensor);
    }
}
