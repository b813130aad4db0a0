package dev.slimq.core.progress;

/**
 * Receives progress from long-running work. Services emit; the CLI decides how (or whether) to
 * render: a bar on a terminal, a line every few seconds in a log, nothing with {@code --quiet}.
 * Implementations must be thread-safe: events arrive from worker threads.
 */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = e -> { };

    void onProgress(ProgressEvent event);

    /** A counter for one task that reports each advance to {@code this}. */
    default ProgressTask task(String name, long total, String unit) {
        return new ProgressTask(this, name, total, unit);
    }
}
