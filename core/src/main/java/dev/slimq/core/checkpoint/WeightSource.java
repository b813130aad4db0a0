package dev.slimq.core.checkpoint;

import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.file.Path;
import java.util.List;

/**
 * A checkpoint's weights as a forward pass reads them: every tensor as row-major floats by its float
 * name, whatever the file stores. The seam between the forward passes ({@code runtime}) and the
 * quantized formats ({@code quantize}), which may not depend on each other (DESIGN.md section 1):
 * {@link FloatWeightSource} reads float checkpoints, and the CLI supplies an implementation backed by
 * quantize's readers, so {@code eval} and {@code calibrate} run on a quantized checkpoint directly,
 * dequantizing each weight as it is loaded (the same floats {@code slimq dequantize --dtype F32}
 * writes).
 *
 * <p>{@link #tensors()} are the logical tensors: plain tensors as the checkpoint has them, each
 * quantized weight under the name of the float weight it replaces with its logical shape (dtype F32),
 * and the storage tensors behind them (codes, scales, zeros) left out. {@link #layout()} classifies
 * those, so name-based roles work as for a float checkpoint. The source reads through
 * {@link #checkpoint()}, which its opener's caller keeps open and closes.
 */
public interface WeightSource {

    /** The checkpoint read (config, root, fingerprint). */
    Checkpoint checkpoint();

    /** The logical tensors, in the checkpoint's name order. */
    List<TensorInfo> tensors();

    /** The logical tensor {@code name}; an exception when absent (check {@link #contains} first). */
    TensorInfo tensor(String name);

    boolean contains(String name);

    /**
     * The tensor as row-major floats, {@code tensor(name).elementCount()} of them. A tensor that is
     * neither float nor a weight the source can dequantize is an UNSUPPORTED {@code SlimqException}.
     */
    float[] floats(String name);

    /** The layout of the logical tensors under the checkpoint's config. */
    ModelLayout layout();

    /** Where the checkpoint is, for messages. */
    default Path root() {
        return checkpoint().root();
    }

    /** Makes the source of an open checkpoint; the CLI's opener detects quantized formats. */
    @FunctionalInterface
    interface Opener {
        /** Float checkpoints only. */
        Opener FLOAT = FloatWeightSource::new;

        WeightSource open(Checkpoint checkpoint);
    }
}
