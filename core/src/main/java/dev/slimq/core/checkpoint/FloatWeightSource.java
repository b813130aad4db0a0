package dev.slimq.core.checkpoint;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.util.List;
import java.util.Objects;

/**
 * The {@link WeightSource} of a float checkpoint: its tensors as they are, decoded from any float
 * dtype. A quantized tensor is refused with a message pointing at {@code slimq dequantize}, since this
 * source cannot know the packing ({@code core} does not read quantized formats).
 */
public record FloatWeightSource(Checkpoint checkpoint) implements WeightSource {
    public FloatWeightSource {
        Objects.requireNonNull(checkpoint, "checkpoint");
    }

    @Override
    public List<TensorInfo> tensors() {
        return checkpoint.tensors();
    }

    @Override
    public TensorInfo tensor(String name) {
        return checkpoint.tensor(name);
    }

    @Override
    public boolean contains(String name) {
        return checkpoint.contains(name);
    }

    @Override
    public float[] floats(String name) {
        TensorInfo t = checkpoint.tensor(name);
        if (!t.dtype().isFloat()) {
            throw new SlimqException(Failure.UNSUPPORTED, name + " is " + t.dtype()
                    + ": a quantized checkpoint this reader cannot expand; run `slimq dequantize` first");
        }
        float[] a = new float[Math.toIntExact(t.elementCount())];
        try (TensorView view = checkpoint.map(name)) {
            view.readFloats(0, a, 0, a.length);
        }
        return a;
    }

    @Override
    public ModelLayout layout() {
        return checkpoint.layout();
    }
}
