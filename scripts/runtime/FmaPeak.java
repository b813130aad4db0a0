import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measured float FMA peak of this machine for the runtime benchmark (scripts/bench-runtime.sh): each
 * thread runs 8 independent Vector API fma chains on registers (no memory traffic), so the number is
 * what the JIT's preferred vector width and the cores' FMA units deliver, the ceiling for the
 * forward pass's matrix products. Usage: java --add-modules jdk.incubator.vector FmaPeak.java THREADS
 * Prints one line: threads, lanes, GFLOP/s (best of 5 runs, each ~0.5 s).
 */
public final class FmaPeak {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    static float chain(long iters) {
        FloatVector m = FloatVector.broadcast(S, 0.999999f);
        FloatVector a = FloatVector.broadcast(S, 1e-7f);
        FloatVector x0 = FloatVector.broadcast(S, 1f);
        FloatVector x1 = FloatVector.broadcast(S, 2f);
        FloatVector x2 = FloatVector.broadcast(S, 3f);
        FloatVector x3 = FloatVector.broadcast(S, 4f);
        FloatVector x4 = FloatVector.broadcast(S, 5f);
        FloatVector x5 = FloatVector.broadcast(S, 6f);
        FloatVector x6 = FloatVector.broadcast(S, 7f);
        FloatVector x7 = FloatVector.broadcast(S, 8f);
        for (long i = 0; i < iters; i++) {
            x0 = x0.fma(m, a);
            x1 = x1.fma(m, a);
            x2 = x2.fma(m, a);
            x3 = x3.fma(m, a);
            x4 = x4.fma(m, a);
            x5 = x5.fma(m, a);
            x6 = x6.fma(m, a);
            x7 = x7.fma(m, a);
        }
        return x0.add(x1).add(x2).add(x3).add(x4).add(x5).add(x6).add(x7).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        long iters = 20_000_000L;
        chain(iters / 10); // warm-up: compile the loop before timing it
        double best = 0;
        float sink = 0;
        try (ExecutorService ex = Executors.newFixedThreadPool(threads)) {
            for (int run = 0; run < 5; run++) {
                List<Callable<Float>> jobs = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    jobs.add(() -> chain(iters));
                }
                long t0 = System.nanoTime();
                for (Future<Float> f : ex.invokeAll(jobs)) {
                    sink += f.get();
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                double flops = 2.0 * 8 * S.length() * iters * threads;
                best = Math.max(best, flops / secs / 1e9);
            }
        }
        System.out.printf(java.util.Locale.ROOT, "threads %d, lanes %d, peak %.1f GFLOP/s (checksum %s)%n", threads, S.length(), best,
                Float.isFinite(sink) ? "ok" : "nan");
    }
}
