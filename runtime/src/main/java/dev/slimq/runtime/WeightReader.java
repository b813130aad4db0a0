package dev.slimq.runtime;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.WeightSource;
import dev.slimq.core.tensor.TensorInfo;
import java.util.Arrays;

/**
 * Reads a forward pass's weights as floats from a {@link WeightSource} (a float checkpoint, or a
 * quantized one dequantized weight by weight when the CLI supplies that source), checking each
 * against the shape config.json implies, so a checkpoint that disagrees with its config fails by name
 * instead of computing nonsense.
 */
public record WeightReader(WeightSource source) {

    /** The tensor {@code name} as row-major floats; BAD_INPUT when missing or shaped otherwise. */
    public float[] read(String name, long... shape) {
        if (!source.contains(name)) {
            throw new SlimqException(Failure.BAD_INPUT, source.root() + ": missing tensor " + name);
        }
        TensorInfo t = source.tensor(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new SlimqException(Failure.BAD_INPUT, name + " has shape " + t.shapeString() + ", expected "
                    + Arrays.toString(shape) + " from config.json");
        }
        return source.floats(name);
    }

    /** Like {@link #read}, or null when the checkpoint has no such tensor (optional biases and norms). */
    public float[] optional(String name, long... shape) {
        return source.contains(name) ? read(name, shape) : null;
    }
}
