package dev.slimq.core.parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

/**
 * The bounded pool all parallel work runs on ({@code --threads}, default: the number of cores).
 *
 * <p>Determinism comes from how work is split, not from scheduling: callers cut work into pieces
 * whose boundaries do not depend on the thread count (per tensor, per fixed-size row block), and
 * {@link #map} returns results in piece order, so reductions combine in the same order for any
 * number of threads. With one thread everything runs on the caller's thread.
 */
public final class WorkPool implements AutoCloseable {
    private final int threads;
    private final ExecutorService executor;

    public WorkPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        AtomicInteger n = new AtomicInteger();
        this.executor = threads == 1 ? null : Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "slimq-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** One worker per available core. */
    public static WorkPool ofAvailableCores() {
        return new WorkPool(Runtime.getRuntime().availableProcessors());
    }

    public int threads() {
        return threads;
    }

    /**
     * Computes {@code task.apply(i)} for {@code i} in {@code [0, count)} and returns the results in
     * index order.
     *
     * <p>When pieces fail, no further pieces are started, and the failure of the lowest-index piece is
     * rethrown once every started piece has stopped: the same exception a run on one thread would
     * throw, whatever the thread count and timing (pieces are handed out in index order, so every
     * piece before a failed one has been started and finishes). The calling thread works on pieces
     * too, so {@code map} called from inside a piece (per tensor, then per row block) completes even
     * when every pool thread is busy.
     */
    public <T> List<T> map(int count, IntFunction<T> task) {
        if (count < 0) {
            throw new IllegalArgumentException("count must not be negative, got " + count);
        }
        List<T> out = new ArrayList<>(count);
        if (executor == null || count <= 1) {
            for (int i = 0; i < count; i++) {
                out.add(task.apply(i));
            }
            return out;
        }
        // Pieces are claimed from a shared counter by at most `threads` runners: cheap for many small
        // pieces, and results land in their slot regardless of which runner computed them.
        Object[] results = new Object[count];
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Failed> failed = new AtomicReference<>();
        Runnable runner = () -> {
            int i;
            while ((i = next.getAndIncrement()) < count) {
                try {
                    results[i] = task.apply(i);
                } catch (Throwable t) {
                    next.set(count); // stop handing out pieces
                    Failed f = new Failed(i, t);
                    failed.accumulateAndGet(f, (a, b) -> a == null || b.index < a.index ? b : a);
                    return;
                }
            }
        };
        int helperCount = Math.min(threads, count) - 1;
        List<Helper> helpers = new ArrayList<>(helperCount);
        for (int r = 0; r < helperCount; r++) {
            Helper h = new Helper(runner);
            helpers.add(h);
            executor.execute(h);
        }
        runner.run();
        // Every piece is claimed now. A helper that has not started (every pool thread busy, e.g. with
        // the piece that called us) would find nothing to do: revoke it instead of waiting for a thread.
        // One that has started may still be finishing a piece: wait for it.
        boolean interrupted = false;
        for (Helper h : helpers) {
            if (h.state.compareAndSet(Helper.NEW, Helper.REVOKED)) {
                continue;
            }
            while (true) {
                try {
                    h.done.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // results are only complete once every runner has stopped
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Failed f = failed.get();
        if (f != null) {
            if (f.error instanceof RuntimeException re) {
                throw re;
            }
            if (f.error instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("parallel task failed", f.error);
        }
        for (Object o : results) {
            @SuppressWarnings("unchecked")
            T t = (T) o;
            out.add(t);
        }
        return out;
    }

    private record Failed(int index, Throwable error) {
    }

    /** A runner handed to the pool; it either starts (and then signals {@link #done}) or is revoked. */
    private static final class Helper implements Runnable {
        static final int NEW = 0;
        static final int RUNNING = 1;
        static final int REVOKED = 2;

        final AtomicInteger state = new AtomicInteger(NEW);
        final CountDownLatch done = new CountDownLatch(1);
        final Runnable runner;

        Helper(Runnable runner) {
            this.runner = runner;
        }

        @Override
        public void run() {
            if (!state.compareAndSet(NEW, RUNNING)) {
                return;
            }
            try {
                runner.run();
            } finally {
                done.countDown();
            }
        }
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
