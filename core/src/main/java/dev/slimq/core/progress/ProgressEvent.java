package dev.slimq.core.progress;

/**
 * How far one task has come: {@code done} of {@code total} units (bytes, tensors, ...). A task is
 * finished when {@code done == total}.
 */
public record ProgressEvent(String task, long done, long total, String unit) {
    public boolean finished() {
        return done >= total;
    }
}
