package dev.slimq.core.compute;

import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The backend that always exists: products on the Java CPU, in one of two forms.
 *
 * <ul>
 *   <li>{@link Kind#REFERENCE}: {@link Float64Reference} rounded to f32. Slow and obviously right;
 *       what {@code --device cpu} is compared with in tests.</li>
 *   <li>{@link Kind#VECTOR}: the Vector API fast path over the {@link TiledLayout} packing (nibbles
 *       for 2-, 3- and 4-bit codes, bytes for 8-bit), f32 accumulation. A batch of one runs fused
 *       (four rows at a time sharing each activation load); larger batches dequantize a row once and
 *       take one dot product per batch row.</li>
 * </ul>
 *
 * <p>Rows are split into fixed blocks of {@value #ROWS_PER_TASK} handed to the {@link WorkPool}; a row
 * is always computed by one thread in the same order, so results are bit-identical for any thread
 * count.
 */
public final class CpuBackend implements ComputeBackend {
    /** Rows per parallel piece: fixed, so the split (and every rounding) is independent of the thread count. */
    static final int ROWS_PER_TASK = 32;

    public enum Kind { REFERENCE, VECTOR }

    private final Kind kind;
    private final WorkPool pool;
    private final boolean ownsPool;
    private final Set<AutoCloseable> open = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean closed;

    /** A backend on {@code pool}, which the caller keeps owning. */
    public CpuBackend(Kind kind, WorkPool pool) {
        this(kind, pool, false);
    }

    private CpuBackend(Kind kind, WorkPool pool, boolean ownsPool) {
        this.kind = kind;
        this.pool = pool;
        this.ownsPool = ownsPool;
    }

    /** A backend with its own pool of {@code threads} workers, shut down by {@link #close()}. */
    public static CpuBackend create(Kind kind, int threads) {
        return new CpuBackend(kind, new WorkPool(threads), true);
    }

    public Kind kind() {
        return kind;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return switch (kind) {
            case REFERENCE -> "Java CPU, scalar float64 reference, " + pool.threads() + " thread" + (pool.threads() == 1 ? "" : "s");
            case VECTOR -> "Java CPU, Vector API " + CpuVectorKernels.FLOATS.length() * 32 + "-bit, " + pool.threads() + " thread"
                    + (pool.threads() == 1 ? "" : "s");
        };
    }

    @Override
    public long memoryBytes() {
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public long cacheBytes() {
        // Best effort on Linux; 0 (unknown) elsewhere.
        for (String idx : new String[] {"index3", "index2"}) {
            Path p = Path.of("/sys/devices/system/cpu/cpu0/cache", idx, "size");
            try {
                String s = Files.readString(p).trim().toUpperCase(Locale.ROOT);
                long mul = s.endsWith("K") ? 1024 : s.endsWith("M") ? 1024 * 1024 : 1;
                return Long.parseLong(s.replaceAll("[^0-9]", "")) * mul;
            } catch (IOException | NumberFormatException | SecurityException e) {
                // try the next level
            }
        }
        return 0;
    }

    // ---- handles -------------------------------------------------------------------------------

    /** Quantized weights: the logical tensor (reference) or the tiled packing (vector). */
    final class QuantWeights extends Handle {
        final QuantizedTensor q;
        final TiledLayout layout;
        final int[] words;
        final float[] scales;
        final float[] zeros;
        final int[] rowPtr;
        final int[] resCol;
        final float[] resVal;

        QuantWeights(QuantizedTensor q, TiledLayout layout, int[] words, float[] scales, float[] zeros, int[] rowPtr, int[] resCol,
                     float[] resVal) {
            super(q.name(), q.rows(), q.cols());
            this.q = q;
            this.layout = layout;
            this.words = words;
            this.scales = scales;
            this.zeros = zeros;
            this.rowPtr = rowPtr;
            this.resCol = resCol;
            this.resVal = resVal;
        }

        @Override
        public long weightBytes() {
            if (layout == null) {
                return q.storageBits() / 8;
            }
            long groups = (long) rows * layout.groups();
            return (long) words.length * 4 + groups * 4 * (q.scheme().symmetric() ? 1 : 2) + (long) resVal.length * 8 + (long) rowPtr.length * 4;
        }

        @Override
        public String format() {
            var s = q.scheme();
            return "q" + s.bits() + " g" + s.groupSize() + (s.symmetric() ? " sym" : " asym") + " f32-scales"
                    + (s.symmetric() ? "" : " " + s.zeroMode().name().toLowerCase(Locale.ROOT) + "-zeros")
                    + (layout == null ? " (float64 reference)" : " (tiles " + layout.width() + "x" + layout.storedBits() + "-bit)");
        }
    }

    /** Float weights: f32 values, or f16 bits (vector) / f16-rounded values (reference). */
    final class DenseWeights extends Handle {
        final float[] f32;
        final short[] f16;
        final DType storage;

        DenseWeights(String name, int rows, int cols, float[] f32, short[] f16, DType storage) {
            super(name, rows, cols);
            this.f32 = f32;
            this.f16 = f16;
            this.storage = storage;
        }

        @Override
        public long weightBytes() {
            return (long) rows * cols * (storage == DType.F16 ? 2 : 4);
        }

        @Override
        public String format() {
            return storage.wireName().toLowerCase(Locale.ROOT);
        }
    }

    abstract class Handle implements PreparedWeights {
        final String name;
        final int rows;
        final int cols;
        boolean released;

        Handle(String name, int rows, int cols) {
            this.name = name;
            this.rows = rows;
            this.cols = cols;
            synchronized (open) {
                open.add(this);
            }
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int rows() {
            return rows;
        }

        @Override
        public int cols() {
            return cols;
        }

        CpuBackend owner() {
            return CpuBackend.this;
        }

        @Override
        public void close() {
            synchronized (open) {
                released = true;
                open.remove(this);
            }
        }
    }

    final class CpuActivations implements Activations {
        final float[] x;
        final int batch;
        final int cols;
        final ActivationType type;
        boolean released;

        CpuActivations(float[] x, int batch, int cols, ActivationType type) {
            this.x = x;
            this.batch = batch;
            this.cols = cols;
            this.type = type;
            synchronized (open) {
                open.add(this);
            }
        }

        @Override
        public int batch() {
            return batch;
        }

        @Override
        public int cols() {
            return cols;
        }

        @Override
        public ActivationType type() {
            return type;
        }

        CpuBackend owner() {
            return CpuBackend.this;
        }

        @Override
        public void close() {
            synchronized (open) {
                released = true;
                open.remove(this);
            }
        }
    }

    // ---- preparation ---------------------------------------------------------------------------

    @Override
    public PreparedWeights prepare(QuantizedTensor q) {
        checkOpen();
        if (kind == Kind.REFERENCE) {
            // Validate the codes exactly as the fast path does, so both kinds accept the same tensors.
            TiledLayout.of(q, 4, true).pack(q);
            return new QuantWeights(q, null, null, null, null, q.outliers().rowPtr(), null, q.outliers().residual());
        }
        TiledLayout layout = TiledLayout.of(q, CpuVectorKernels.FLOATS.length(), true);
        int[] words = layout.pack(q);
        Outliers o = q.outliers();
        float[] zeros = q.scheme().symmetric() ? null : q.zeros().clone();
        return new QuantWeights(q, layout, words, q.scales().clone(), zeros, o.rowPtr().clone(), layout.paddedOutlierColumns(o),
                o.residual().clone());
    }

    @Override
    public PreparedWeights prepareDense(String name, float[] weights, int rows, int cols, DType storage) {
        checkOpen();
        checkDense(weights, rows, cols, storage);
        int n = rows * cols;
        if (storage == DType.F32) {
            return new DenseWeights(name, rows, cols, Arrays.copyOf(weights, n), null, storage);
        }
        if (kind == Kind.REFERENCE) {
            float[] w = new float[n];
            for (int i = 0; i < n; i++) {
                w[i] = ActivationType.F16.round(weights[i]);
            }
            return new DenseWeights(name, rows, cols, w, null, storage);
        }
        short[] h = new short[n];
        for (int i = 0; i < n; i++) {
            h[i] = Float.floatToFloat16(weights[i]);
        }
        return new DenseWeights(name, rows, cols, null, h, storage);
    }

    static void checkDense(float[] weights, int rows, int cols, DType storage) {
        if (storage != DType.F16 && storage != DType.F32) {
            throw new IllegalArgumentException("dense weights are stored as F16 or F32, not " + storage.wireName());
        }
        if (rows < 1 || cols < 1 || weights.length < (long) rows * cols || (long) rows * cols > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(weights.length + " weights for " + rows + "x" + cols);
        }
    }

    @Override
    public PreparedWeights copyOf(PreparedWeights weights) {
        Handle h = own(weights);
        if (h instanceof QuantWeights w) {
            return new QuantWeights(w.q, w.layout, w.words == null ? null : w.words.clone(), w.scales == null ? null : w.scales.clone(),
                    w.zeros == null ? null : w.zeros.clone(), w.rowPtr.clone(), w.resCol == null ? null : w.resCol.clone(), w.resVal.clone());
        }
        DenseWeights d = (DenseWeights) h;
        return new DenseWeights(d.name, d.rows, d.cols, d.f32 == null ? null : d.f32.clone(), d.f16 == null ? null : d.f16.clone(), d.storage);
    }

    @Override
    public Activations activations(float[] x, int batch, int cols, ActivationType type) {
        checkOpen();
        if (batch < 1 || cols < 1 || x.length < (long) batch * cols) {
            throw new IllegalArgumentException(x.length + " activations for batch " + batch + " x " + cols);
        }
        float[] copy = new float[batch * cols];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = type.round(x[i]);
        }
        return new CpuActivations(copy, batch, cols, type);
    }

    // ---- products ------------------------------------------------------------------------------

    @Override
    public void matmul(PreparedWeights weights, Activations x, float[] y) {
        Handle h = own(weights);
        CpuActivations a = own(x);
        if (a.cols != h.cols) {
            throw new IllegalArgumentException("activations have " + a.cols + " columns, " + h.name + " has " + h.cols);
        }
        if (y.length < (long) a.batch * h.rows) {
            throw new IllegalArgumentException("output holds " + y.length + " values, product has " + (long) a.batch * h.rows);
        }
        if (kind == Kind.REFERENCE) {
            double[] ref = h instanceof QuantWeights w ? Float64Reference.matmul(w.q, a.x, a.batch)
                    : Float64Reference.matmulDense(((DenseWeights) h).f32, h.rows, h.cols, a.x, a.batch);
            for (int i = 0; i < ref.length; i++) {
                y[i] = (float) ref[i];
            }
            return;
        }
        int tasks = (h.rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        if (h instanceof QuantWeights w) {
            TiledLayout l = w.layout;
            float[] xp = l.padActivations(a.x, a.batch, a.batch, ActivationType.F32);
            float[] xs = l.chunkSums(xp, a.batch);
            pool.map(tasks, t -> {
                CpuVectorKernels.quantRows(w, xp, xs, a.batch, t * ROWS_PER_TASK, Math.min(h.rows, (t + 1) * ROWS_PER_TASK), y);
                return null;
            });
        } else {
            DenseWeights d = (DenseWeights) h;
            pool.map(tasks, t -> {
                CpuVectorKernels.denseRows(d, a.x, a.batch, t * ROWS_PER_TASK, Math.min(h.rows, (t + 1) * ROWS_PER_TASK), y);
                return null;
            });
        }
    }

    @Override
    public long timeLaunches(List<? extends PreparedWeights> rotation, Activations x, int launches) {
        if (rotation.isEmpty() || launches < 1) {
            throw new IllegalArgumentException("need weights and at least one launch");
        }
        int maxRows = rotation.stream().mapToInt(PreparedWeights::rows).max().orElse(1);
        float[] y = new float[Math.multiplyExact(maxRows, x.batch())];
        long t0 = System.nanoTime();
        for (int i = 0; i < launches; i++) {
            matmul(rotation.get(i % rotation.size()), x, y);
        }
        return System.nanoTime() - t0;
    }

    @Override
    public ReadProbe readProbe(long bytes) {
        checkOpen();
        if (bytes < 4096 || bytes / 4 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("bandwidth buffer of " + bytes + " bytes");
        }
        float[] data = new float[(int) (bytes / 4)];
        Arrays.fill(data, 1f);
        int pieces = 64;
        return new ReadProbe() {
            @Override
            public long bytes() {
                return data.length * 4L;
            }

            @Override
            public double measure() {
                checkOpen();
                long t0 = System.nanoTime();
                List<Float> sums = pool.map(pieces, i -> CpuVectorKernels.sum(data, (int) ((long) data.length * i / pieces),
                        (int) ((long) data.length * (i + 1) / pieces)));
                long dt = System.nanoTime() - t0;
                if (sums.size() != pieces) {
                    throw new IllegalStateException();
                }
                return data.length * 4.0 / (dt / 1e9);
            }

            @Override
            public void close() {
                // garbage collected
            }
        };
    }

    // ---- lifecycle -----------------------------------------------------------------------------

    private Handle own(PreparedWeights w) {
        checkOpen();
        if (!(w instanceof Handle h) || h.owner() != this) {
            throw new IllegalArgumentException("weights " + w.name() + " were prepared by another backend");
        }
        if (h.released) {
            throw new IllegalStateException("weights " + h.name + " are closed");
        }
        return h;
    }

    private CpuActivations own(Activations a) {
        if (!(a instanceof CpuActivations c) || c.owner() != this) {
            throw new IllegalArgumentException("activations were made by another backend");
        }
        if (c.released) {
            throw new IllegalStateException("activations are closed");
        }
        return c;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("backend is closed");
        }
    }

    /** Handles and activations not yet closed (for leak tests). */
    public int openHandles() {
        synchronized (open) {
            return open.size();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (open) {
            open.clear();
        }
        if (ownsPool) {
            pool.close();
        }
    }
}
