package dev.slimq.testdata;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Hand-built variants of a generated checkpoint for tests whose right answer is known by
 * construction (a zeroed neuron, a norm gain of 0): every tensor is copied with its dtype and shape,
 * the floats of each passed through {@code edit} first; config.json, the tokenizer and the other
 * files come along unchanged.
 */
public final class CheckpointEdit {
    private CheckpointEdit() {
    }

    /** Writes the edited copy of {@code src} to {@code out} and returns {@code out}. */
    public static Path copy(Path src, Path out, BiConsumer<String, float[]> edit) {
        try (Checkpoint c = Checkpoint.open(src)) {
            List<TensorInfo> planned = c.tensors().stream().map(t -> TensorInfo.planned(t.name(), t.dtype(), t.shape())).toList();
            try (CheckpointWriter w = CheckpointWriter.create(out, planned, c.metadata(), 0, c)) {
                for (TensorInfo t : c.tensors()) {
                    float[] v = new float[Math.toIntExact(t.elementCount())];
                    try (TensorView view = c.map(t.name())) {
                        view.readFloats(0, v, 0, v.length);
                    }
                    edit.accept(t.name(), v);
                    try (var s = w.open(t.name())) {
                        s.writeFloats(v, 0, v.length);
                    }
                }
                w.commit();
            }
        }
        return out;
    }
}
