package dev.slimq.core.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

class WorkPoolTest {

    /** Busy-waits or parks for a seeded, piece-dependent time, so pieces finish out of order. */
    static void jitter(long seed, int i) {
        int micros = new Random(seed * 31 + i).nextInt(300);
        LockSupport.parkNanos(micros * 1000L);
    }

    @Test
    void resultsComeInIndexOrderForAnyThreadCount() {
        for (int threads = 1; threads <= 4; threads++) {
            try (WorkPool pool = new WorkPool(threads)) {
                assertEquals(threads, pool.threads());
                for (int count : new int[] {0, 1, 2, 3, 7, 100}) {
                    long seed = threads * 1000L + count;
                    List<Integer> out = pool.map(count, i -> {
                        jitter(seed, i);
                        return i * i;
                    });
                    List<Integer> expected = new ArrayList<>();
                    for (int i = 0; i < count; i++) {
                        expected.add(i * i);
                    }
                    assertEquals(expected, out, threads + " threads, " + count + " pieces");
                }
            }
        }
    }

    @Test
    void everyPieceRunsExactlyOnceOnAtMostThreadsThreads() {
        for (int threads = 1; threads <= 4; threads++) {
            ConcurrentHashMap<Integer, Integer> runs = new ConcurrentHashMap<>();
            ConcurrentHashMap<Thread, Boolean> used = new ConcurrentHashMap<>();
            try (WorkPool pool = new WorkPool(threads)) {
                pool.map(500, i -> {
                    runs.merge(i, 1, Integer::sum);
                    used.put(Thread.currentThread(), true);
                    jitter(9, i % 7);
                    return null;
                });
            }
            assertEquals(500, runs.size());
            assertTrue(runs.values().stream().allMatch(c -> c == 1));
            assertTrue(used.size() <= threads, used.size() + " threads used with " + threads);
            if (threads == 1) {
                assertEquals(List.of(Thread.currentThread()), List.copyOf(used.keySet()), "one thread: the caller's");
            }
        }
    }

    @Test
    void anExceptionPropagatesWithItsType() {
        for (int threads = 1; threads <= 4; threads++) {
            try (WorkPool pool = new WorkPool(threads)) {
                IllegalStateException boom = new IllegalStateException("boom 5");
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.map(20, i -> {
                    if (i == 5) {
                        throw boom;
                    }
                    return i;
                }));
                assertSame(boom, e, threads + " threads");
                // an Error too, and the pool stays usable afterwards
                assertThrows(StackOverflowError.class, () -> pool.map(8, i -> {
                    if (i == 7) {
                        throw new StackOverflowError("deep");
                    }
                    return i;
                }));
                assertEquals(List.of(0, 1, 2), pool.map(3, i -> i));
            }
        }
    }

    @Test
    void theLowestFailingPieceWinsWhateverTheTiming() {
        // piece 3 fails late, piece 9 fails at once: a single thread meets piece 3 first, so must every pool
        for (int threads = 1; threads <= 4; threads++) {
            try (WorkPool pool = new WorkPool(threads)) {
                for (int round = 0; round < 5; round++) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.map(40, i -> {
                        if (i == 3) {
                            LockSupport.parkNanos(5_000_000);
                            throw new IllegalArgumentException("piece 3");
                        }
                        if (i >= 9) {
                            throw new IllegalArgumentException("piece " + i);
                        }
                        return i;
                    }));
                    assertEquals("piece 3", e.getMessage(), threads + " threads");
                }
            }
        }
    }

    @Test
    void noNewPiecesStartAfterAFailure() {
        try (WorkPool pool = new WorkPool(3)) {
            AtomicInteger started = new AtomicInteger();
            assertThrows(IllegalStateException.class, () -> pool.map(10_000, i -> {
                started.incrementAndGet();
                if (i == 0) {
                    throw new IllegalStateException("first");
                }
                LockSupport.parkNanos(200_000);
                return i;
            }));
            assertTrue(started.get() < 1000, started.get() + " pieces started");
        }
    }

    @Test
    void mapInsideAPieceCompletesEvenWhenEveryThreadIsBusy() {
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            try (WorkPool pool = new WorkPool(2)) {
                List<Integer> sums = pool.map(6, outer -> pool.map(5, inner -> {
                    jitter(outer, inner);
                    return outer * 10 + inner;
                }).stream().mapToInt(Integer::intValue).sum());
                List<Integer> expected = new ArrayList<>();
                for (int outer = 0; outer < 6; outer++) {
                    expected.add(outer * 50 + 10);
                }
                assertEquals(expected, sums);
            }
        });
    }

    @Test
    void threadsBelowOneAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new WorkPool(0));
        assertThrows(IllegalArgumentException.class, () -> new WorkPool(-3));
        try (WorkPool pool = WorkPool.ofAvailableCores()) {
            assertEquals(Runtime.getRuntime().availableProcessors(), pool.threads());
            assertThrows(IllegalArgumentException.class, () -> pool.map(-1, i -> i));
        }
    }
}
