package dev.slimq.runtime;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.tensor.TensorInfo;
import java.util.Arrays;

/**
 * Reads a forward pass's weights as floats, checking each against the shape config.json implies, so a
 * checkpoint that disagrees with its config fails by name instead of computing nonsense. Quantized
 * tensors are refused: the forward passes read float checkpoints.
 */
public record WeightReader(Checkpoint checkpoint) {

    /** The tensor {@code name} as row-major floats; BAD_INPUT when missing or shaped otherwise. */
    public float[] read(String name, long... shape) {
        if (!checkpoint.contains(name)) {
            throw new SlimqException(Failure.BAD_INPUT, checkpoint.root() + ": missing tensor " + name);
        }
        TensorInfo t = checkpoint.tensor(name);
        if (!t.dtype().isFloat()) {
            throw new SlimqException(Failure.UNSUPPORTED, name + " is " + t.dtype()
                    + "; run `slimq dequantize` first (the forward pass reads float checkpoints)");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new SlimqException(Failure.BAD_INPUT, name + " has shape " + t.shapeString() + ", expected "
                    + Arrays.toString(shape) + " from config.json");
        }
        float[] a = new float[Math.toIntExact(TensorInfo.elementCount(shape))];
        try (var view = checkpoint.map(name)) {
            view.readFloats(0, a, 0, a.length);
        }
        return a;
    }

    /** Like {@link #read}, or null when the checkpoint has no such tensor (optional biases and norms). */
    public float[] optional(String name, long... shape) {
        return checkpoint.contains(name) ? read(name, shape) : null;
    }
}
