package dev.slimq.kernels.bench;

import dev.slimq.core.compute.ActivationType;
import dev.slimq.core.compute.Activations;
import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.PreparedWeights;
import dev.slimq.core.compute.SyntheticWeights;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The kernel benchmark behind {@code slimq bench}: for each shape, the fused dequant kernel and the
 * f16 (and f32) float kernels, each timed while rotating over enough independent weight copies to
 * exceed {@link BenchSettings#minWorkingSet()} and a multiple of the device's last-level cache — so
 * every product streams its weights from DRAM/HBM, as in inference, rather than from a cache that
 * a single repeated matrix would sit in — next to the device's read bandwidth measured in the same
 * run by a plain streaming reduction.
 *
 * <p>Works on any {@link ComputeBackend}; numbers are medians over passes. Nothing is asserted: the
 * report states what was measured.
 */
public final class KernelBench {
    private KernelBench() {
    }

    /**
     * @param readBandwidthGbps median of every read-bandwidth measurement of the run
     * @param workingSetBytes   least bytes of weight copies each kernel rotated over
     */
    public record Report(String device, String description, double readBandwidthGbps, long workingSetBytes, List<BenchEntry> entries) {
    }

    private enum Kind { FUSED, F16, F32 }

    /**
     * Runs the benchmark. Each timed pass of each entry is preceded by a read-bandwidth pass over a
     * resident buffer, and every kernel of a shape runs in the same passes, so on a shared machine
     * whose speed drifts a kernel is compared with the bandwidth and the float kernels of the same
     * moments; an entry's fraction uses the median bandwidth of its own passes.
     */
    public static Report run(ComputeBackend backend, BenchSettings s, Consumer<String> progress) {
        long workingSet = Math.max(s.minWorkingSet(), s.cacheMultiple() * backend.cacheBytes());
        long probeBytes = Math.max(1 << 20, Math.min(s.bandwidthBytes(), backend.memoryBytes() / 8));
        progress.accept(String.format(Locale.ROOT, "bench: %s; bandwidth probe over %s; weights rotate over at least %s per kernel",
                backend.description(), mib(probeBytes), mib(workingSet)));
        List<BenchEntry> entries = new ArrayList<>();
        List<Double> allBandwidths = new ArrayList<>();
        try (ComputeBackend.ReadProbe probe = backend.readProbe(probeBytes)) {
            probe.measure(); // warm-up
            long seed = 1;
            for (BenchSettings.Shape shape : s.shapes()) {
                QuantizedTensor q = SyntheticWeights.quantized("bench." + shape, shape.rows(), shape.cols(), s.scheme(shape.cols()), 0, seed++);
                float[] dense = cheapFloats(Math.multiplyExact(shape.rows(), shape.cols()), seed++);
                List<Kind> kinds = s.compareF32() ? List.of(Kind.FUSED, Kind.F16, Kind.F32) : List.of(Kind.FUSED, Kind.F16);
                List<List<PreparedWeights>> sets = new ArrayList<>();
                try {
                    for (Kind kind : kinds) {
                        sets.add(copies(backend, kind, shape, q, dense, workingSet, kinds.size(), progress));
                    }
                    String scheme = sets.get(0).get(0).format();
                    long fusedBytes = sets.get(0).get(0).weightBytes();
                    long f16Bytes = sets.get(1).get(0).weightBytes();
                    for (int batch : s.batches()) {
                        float[] x = SyntheticWeights.gaussian(batch * shape.cols(), 1, seed + batch);
                        double[][] ms = new double[kinds.size()][s.iterations()];
                        double[] bw = new double[s.iterations()];
                        try (Activations a = backend.activations(x, batch, shape.cols(), ActivationType.F32)) {
                            for (List<PreparedWeights> copies : sets) {
                                backend.timeLaunches(copies, a, copies.size()); // warm-up: first-use compilation, page faults
                            }
                            for (int it = 0; it < s.iterations(); it++) {
                                bw[it] = probe.measure() / 1e9;
                                allBandwidths.add(bw[it]);
                                for (int ki = 0; ki < kinds.size(); ki++) {
                                    List<PreparedWeights> copies = sets.get(ki);
                                    ms[ki][it] = backend.timeLaunches(copies, a, copies.size()) / 1e6 / copies.size();
                                }
                            }
                        }
                        double fused = median(ms[0]);
                        double f16 = median(ms[1]);
                        Double f32 = kinds.size() > 2 ? round(median(ms[2])) : null;
                        double band = median(bw);
                        double gbps = fusedBytes / (fused * 1e6);
                        double f16Gbps = f16Bytes / (f16 * 1e6);
                        BenchEntry e = new BenchEntry(shape.toString(), shape.rows(), shape.cols(), batch, scheme, round(fused), round(f16), f32,
                                fusedBytes, round(gbps), round(gbps / band), round(f16 / fused), round(f16Gbps), round(f16Gbps / band), backend.name(),
                                round(band));
                        entries.add(e);
                        progress.accept(String.format(Locale.ROOT, "bench: %s batch %d: fused %.3f ms (%.1f GB/s, %.0f%% of %.1f GB/s), f16 %.3f ms, %.2fx",
                                shape, batch, fused, gbps, 100 * gbps / band, band, f16, f16 / fused));
                    }
                } finally {
                    sets.forEach(l -> l.forEach(PreparedWeights::close));
                }
            }
        }
        double[] all = allBandwidths.stream().mapToDouble(Double::doubleValue).toArray();
        return new Report(backend.name(), backend.description(), round(median(all)), workingSet, entries);
    }

    /**
     * One kernel's weights and enough copies to exceed the working set; every kernel's copies stay
     * resident together, so together they take at most half the backend's memory.
     */
    private static List<PreparedWeights> copies(ComputeBackend backend, Kind kind, BenchSettings.Shape shape, QuantizedTensor q, float[] dense,
                                                long workingSet, int kinds, Consumer<String> progress) {
        List<PreparedWeights> copies = new ArrayList<>();
        try {
            PreparedWeights first = switch (kind) {
                case FUSED -> backend.prepare(q);
                case F16 -> backend.prepareDense("bench." + shape, dense, shape.rows(), shape.cols(), DType.F16);
                case F32 -> backend.prepareDense("bench." + shape, dense, shape.rows(), shape.cols(), DType.F32);
            };
            copies.add(first);
            long budget = Math.max(first.weightBytes(), backend.memoryBytes() / (2L * kinds));
            long want = Math.min(budget, workingSet);
            int n = (int) Math.max(1, Math.min(100_000, (want + first.weightBytes() - 1) / first.weightBytes()));
            while (copies.size() < n) {
                copies.add(backend.copyOf(first));
            }
            progress.accept(String.format(Locale.ROOT, "bench: %s %s: %d copies, %s", shape,
                    kind == Kind.FUSED ? first.format() : kind.name().toLowerCase(Locale.ROOT), copies.size(),
                    mib((long) copies.size() * first.weightBytes())));
            return copies;
        } catch (RuntimeException e) {
            copies.forEach(PreparedWeights::close);
            throw e;
        }
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length == 0 ? Double.NaN : c[c.length / 2];
    }

    /** Values for the float kernels: their magnitude does not matter to the timing, only that they are finite. */
    private static float[] cheapFloats(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (r.nextDouble() - 0.5) * 0.05f;
        }
        return out;
    }

    private static double round(double v) {
        if (!Double.isFinite(v)) {
            return v;
        }
        double scale = Math.pow(10, Math.max(0, 3 - (int) Math.floor(Math.log10(Math.abs(v) + 1e-300))));
        return Math.round(v * scale) / scale;
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    /** The report as an aligned text table, one line per entry. */
    public static List<String> table(Report r) {
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "device %s — %s", r.device(), r.description()));
        out.add(String.format(Locale.ROOT, "read bandwidth %.1f GB/s (median of the run; each line uses its own passes' median); weights rotate over >= %.0f MiB per kernel",
                r.readBandwidthGbps(), r.workingSetBytes() / 1048576.0));
        out.add("shapes are out x in (K = in); ms per product (median); GB/s of weight bytes streamed by the fused kernel");
        out.add(String.format(Locale.ROOT, "%-11s %5s  %-26s %9s %9s %9s %8s %7s %7s %8s %8s", "shape", "batch", "fused kernel", "fused ms", "f16 ms",
                "f32 ms", "GB/s", "BW", "of BW", "vs f16", "f16 BW"));
        for (BenchEntry e : r.entries()) {
            String scheme = e.scheme() == null ? "" : e.scheme().replaceAll(" \\(.*\\)", "");
            out.add(String.format(Locale.ROOT, "%-11s %5d  %-26s %9.3f %9.3f %9s %8.1f %7.1f %6.0f%% %7.2fx %7.0f%%", e.shape(), e.batch(), scheme,
                    e.fusedMs(), e.f16Ms(), e.f32Ms() == null ? "-" : String.format(Locale.ROOT, "%.3f", e.f32Ms()), e.gbps(), e.readBandwidthGbps(),
                    100 * e.fractionOfBandwidth(), e.speedupVsF16(), 100 * e.f16FractionOfBandwidth()));
        }
        return out;
    }
}
