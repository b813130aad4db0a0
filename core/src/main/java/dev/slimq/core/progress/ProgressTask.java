package dev.slimq.core.progress;

import java.util.concurrent.atomic.AtomicLong;

/** A thread-safe counter for one task; every advance is forwarded as a {@link ProgressEvent}. */
public final class ProgressTask {
    private final ProgressListener listener;
    private final String name;
    private final long total;
    private final String unit;
    private final AtomicLong done = new AtomicLong();

    ProgressTask(ProgressListener listener, String name, long total, String unit) {
        this.listener = listener;
        this.name = name;
        this.total = total;
        this.unit = unit;
        listener.onProgress(new ProgressEvent(name, 0, total, unit));
    }

    public void advance(long units) {
        long d = done.addAndGet(units);
        listener.onProgress(new ProgressEvent(name, d, total, unit));
    }

    public long done() {
        return done.get();
    }
}
