package dev.slimq.core.compute;

import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.DType;
import java.util.List;

/**
 * Where matrix products run: the Java CPU ({@link CpuBackend}) or an OpenCL device (module
 * {@code kernels-opencl}). Weights are prepared once into a backend-resident handle, activations are
 * uploaded once, and products run as often as wanted:
 *
 * <pre>{@code
 * try (PreparedWeights w = backend.prepare(q); Activations a = backend.activations(x, batch, q.cols(), ActivationType.F32)) {
 *     backend.matmul(w, a, y);            // y[b * rows + r] = sum_c x[b * cols + c] * w[r][c]
 * }
 * }</pre>
 *
 * <p>Every product accumulates in f32 or wider. A non-finite weight or activation never yields a
 * finite output where the float64 reference ({@link Float64Reference}) is non-finite. Results are
 * deterministic: the same inputs give bit-identical outputs on the same backend, whatever the
 * thread count. A backend is used from one thread at a time; it may use many internally.
 *
 * <p>Failures of the device itself are {@link dev.slimq.core.SlimqException}s with
 * {@link dev.slimq.core.Failure#DEVICE}; misuse (wrong shapes, a foreign handle) is an
 * {@link IllegalArgumentException}.
 */
public interface ComputeBackend extends AutoCloseable {
    /** Short identifier, e.g. {@code cpu} or {@code opencl:0}. */
    String name();

    /** One line for humans: device, vendor, what runs where. */
    String description();

    /** Memory the backend can hold weights in, in bytes (device global memory, or the JVM's heap). */
    long memoryBytes();

    /** Size of the last cache level in front of that memory, in bytes (0 when unknown). */
    long cacheBytes();

    /**
     * Makes a quantized matrix resident. Codes are checked against the scheme's range; scales, zeros
     * and residuals are stored in half precision where that is exact and in f32 otherwise, so the
     * product uses exactly the values {@code q} holds.
     */
    PreparedWeights prepare(QuantizedTensor q);

    /**
     * Makes a float matrix ({@code [rows, cols]} row-major) resident, stored as {@code storage}
     * ({@link DType#F16}, rounded to nearest even, or {@link DType#F32}).
     */
    PreparedWeights prepareDense(String name, float[] weights, int rows, int cols, DType storage);

    /** A second, independent resident copy (separate memory), e.g. to stream more bytes than any cache holds. */
    PreparedWeights copyOf(PreparedWeights weights);

    /** Makes {@code batch} rows of {@code cols} activations ({@code x[b * cols + c]}) resident as {@code type}. */
    Activations activations(float[] x, int batch, int cols, ActivationType type);

    /**
     * {@code y[b * rows + r] = sum_c x[b][c] * w[r][c]} for every batch row {@code b}: writes exactly
     * {@code batch * rows} values of {@code y}.
     */
    void matmul(PreparedWeights weights, Activations x, float[] y);

    /** {@link #matmul(PreparedWeights, Activations, float[])} with f32 activations uploaded for this one call. */
    default void matmul(PreparedWeights weights, float[] x, int batch, float[] y) {
        try (Activations a = activations(x, batch, weights.cols(), ActivationType.F32)) {
            matmul(weights, a, y);
        }
    }

    /**
     * Runs {@code launches} products back to back, the weights taken from {@code rotation} in turn,
     * outputs discarded, and returns the nanoseconds they took: no transfers, no reads of the output.
     * Devices that time their own commands (OpenCL profiling) report the sum of the products' device
     * times, so a host that enqueues slower than a GPU computes does not count; the CPU backend
     * reports wall time.
     */
    long timeLaunches(List<? extends PreparedWeights> rotation, Activations x, int launches);

    /**
     * A buffer of about {@code bytes} in the backend's memory and a plain streaming reduction over it:
     * what the device's read bandwidth is, measured with the same clock as {@link #timeLaunches}.
     * Benchmarks keep one open and measure it between kernel runs, so both see the same machine.
     */
    ReadProbe readProbe(long bytes);

    /** The median of {@code passes} read-bandwidth measurements over {@code bytes}, in bytes per second (after one warm-up pass). */
    default double measureReadBandwidth(long bytes, int passes) {
        if (passes < 1) {
            throw new IllegalArgumentException("passes must be positive, got " + passes);
        }
        try (ReadProbe p = readProbe(bytes)) {
            p.measure();
            double[] r = new double[passes];
            for (int i = 0; i < passes; i++) {
                r[i] = p.measure();
            }
            java.util.Arrays.sort(r);
            return r[passes / 2];
        }
    }

    /** See {@link #readProbe}. */
    interface ReadProbe extends AutoCloseable {
        /** Bytes one pass reads. */
        long bytes();

        /** One pass; returns bytes per second. */
        double measure();

        @Override
        void close();
    }

    /** Releases everything the backend holds, open handles included. */
    @Override
    void close();
}
