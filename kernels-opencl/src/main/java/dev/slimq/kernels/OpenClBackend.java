package dev.slimq.kernels;

import static org.jocl.CL.CL_MEM_COPY_HOST_PTR;
import static org.jocl.CL.CL_MEM_READ_ONLY;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;
import static org.jocl.CL.CL_TRUE;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.compute.ActivationType;
import dev.slimq.core.compute.Activations;
import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.PreparedWeights;
import dev.slimq.core.compute.TiledLayout;
import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.tensor.DType;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;
import org.jocl.cl_queue_properties;

/**
 * {@link ComputeBackend} on one OpenCL device: one context and one in-order queue per instance,
 * programs built once per instance and kept by (source hash, build options) — the device is fixed
 * per instance — and every buffer, kernel, program, queue and context released on close (counted in
 * {@link ClObjects}, which tests check).
 *
 * <p>Quantized weights are repacked on the host into the {@link TiledLayout} and uploaded with their
 * scales and zeros (half where every value is exactly a half, else f32) and their CSR residuals in
 * padded coordinates; products run the fused kernels of {@code quant.cl}, the residuals added in the
 * same launch. Float weights are padded to whole vectors and run the {@code dense.cl} kernels.
 *
 * <p>Every OpenCL failure becomes a {@link SlimqException} with {@link Failure#DEVICE} naming the
 * call and the status ({@link ClErrors}). Methods are synchronized: one queue, one caller at a time.
 */
public final class OpenClBackend implements ComputeBackend {

    /**
     * @param policy        kernel shapes for the device ({@link LaunchPolicy#forDevice})
     * @param poisonOutputs fill the output buffer with NaN before every product, so an element a
     *                      kernel fails to write can never pass as a plausible number
     */
    public record Options(LaunchPolicy policy, boolean poisonOutputs) {
    }

    private final DeviceInfo device;
    private final LaunchPolicy policy;
    private final boolean poison;
    private final cl_device_id deviceId;
    private final ClObjects objects = new ClObjects();
    private final cl_context context;
    private final cl_command_queue queue;
    private final Map<String, cl_program> programs = new HashMap<>();
    private final Map<String, cl_program> programsByFamily = new HashMap<>();
    private final Map<cl_kernel, Long> kernelLimits = new IdentityHashMap<>();
    private final Map<cl_program, Map<String, cl_kernel>> kernels = new IdentityHashMap<>();
    private final Set<AutoCloseable> open = Collections.newSetFromMap(new IdentityHashMap<>());
    private final cl_mem dummy;
    private cl_mem output;
    private long outputBytes;
    private boolean subGroupsBuilt;
    private boolean closed;

    private OpenClBackend(DeviceInfo device, cl_device_id deviceId, Options options) {
        this.device = device;
        this.policy = options.policy();
        this.poison = options.poisonOutputs();
        this.deviceId = deviceId;
        this.subGroupsBuilt = policy.subGroups() && device.subGroups();
        cl_context ctx = null;
        cl_command_queue q = null;
        try {
            ctx = CL.clCreateContext(new cl_context_properties(), 1, new cl_device_id[] {deviceId}, null, null, null);
            objects.contexts.incrementAndGet();
            q = createQueue(ctx);
            objects.queues.incrementAndGet();
            this.context = ctx;
            this.queue = q;
            this.dummy = objects.created(CL.clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64, null, null));
        } catch (CLException e) {
            objects.release(q);
            objects.release(ctx);
            throw ClErrors.device("context setup on " + device.summary(), e);
        }
    }

    private cl_command_queue createQueue(cl_context ctx) {
        if (versionAtLeast(device.version(), 2)) {
            cl_queue_properties props = new cl_queue_properties();
            props.addProperty(CL.CL_QUEUE_PROPERTIES, CL.CL_QUEUE_PROFILING_ENABLE);
            return CL.clCreateCommandQueueWithProperties(ctx, deviceId, props, null);
        }
        @SuppressWarnings("deprecation")
        cl_command_queue q = CL.clCreateCommandQueue(ctx, deviceId, CL.CL_QUEUE_PROFILING_ENABLE, null);
        return q;
    }

    /** True when an "OpenCL M.m ..." version string has major version {@code major} or more. */
    static boolean versionAtLeast(String version, int major) {
        String[] parts = version.split("[ .]");
        try {
            return parts.length > 1 && Integer.parseInt(parts[1]) >= major;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** A backend on device {@code index} of {@link OpenClRuntime#discover()}, shaped by its own policy. */
    public static OpenClBackend open(int index) {
        return open(index, null);
    }

    /** A backend on device {@code index}; {@code options} null means the device's policy, no poisoning. */
    public static OpenClBackend open(int index, Options options) {
        OpenClRuntime.Discovery d = OpenClRuntime.requireDevices("opencl:" + index);
        if (index < 0 || index >= d.devices().size()) {
            StringBuilder sb = new StringBuilder();
            for (DeviceInfo i : d.devices()) {
                sb.append(sb.isEmpty() ? "" : "; ").append(i.summary());
            }
            throw new SlimqException(Failure.DEVICE, "--device opencl:" + index + ": no such OpenCL device (there " + (d.devices().size() == 1 ? "is" : "are")
                    + " " + d.devices().size() + ": " + sb + ")");
        }
        DeviceInfo info = d.devices().get(index);
        Options o = options != null ? options : new Options(LaunchPolicy.forDevice(info), false);
        return new OpenClBackend(info, d.device(index), o);
    }

    public DeviceInfo device() {
        return device;
    }

    public LaunchPolicy policy() {
        return policy;
    }

    /** OpenCL objects currently held (buffers, kernels, programs, queue, context): for leak tests. */
    int liveObjects() {
        return objects.live();
    }

    ClObjects objects() {
        return objects;
    }

    @Override
    public String name() {
        return device.id();
    }

    @Override
    public String description() {
        return device.summary() + ", " + device.computeUnits() + " compute units, vector width " + policy.width();
    }

    @Override
    public long memoryBytes() {
        return device.globalMemoryBytes();
    }

    @Override
    public long cacheBytes() {
        return device.globalCacheBytes();
    }

    // ---- programs and kernels ------------------------------------------------------------------

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The built program for {@code source} with vectors of {@code width}, built on first use and kept
     * by (source hash, options).
     */
    private cl_program program(String family, int width) {
        String shortKey = family + "/" + width;
        cl_program known = programsByFamily.get(shortKey);
        if (known != null) {
            return known;
        }
        String source = switch (family) {
            case "quant" -> KernelSources.quantProgram(policy);
            case "dense" -> KernelSources.denseProgram(policy);
            case "stream" -> KernelSources.streamProgram();
            default -> throw new IllegalArgumentException(family);
        };
        cl_program built = programBySource(source, width);
        programsByFamily.put(shortKey, built);
        return built;
    }

    private cl_program programBySource(String source, int width) {
        String options = KernelSources.options(width, subGroupsBuilt);
        String key = sha256(source) + " " + options;
        cl_program p = programs.get(key);
        if (p != null) {
            return p;
        }
        try {
            p = build(source, options);
        } catch (SlimqException e) {
            if (!subGroupsBuilt) {
                throw e;
            }
            // A driver that advertises sub-groups but cannot compile them: build without, say nothing
            // more (the kernels then reduce through local memory, which is always correct).
            subGroupsBuilt = false;
            options = KernelSources.options(width, false);
            key = sha256(source) + " " + options;
            p = build(source, options);
        }
        programs.put(key, p);
        return p;
    }

    private cl_program build(String source, String options) {
        cl_program p;
        try {
            p = CL.clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
            objects.programs.incrementAndGet();
        } catch (CLException e) {
            throw ClErrors.device("clCreateProgramWithSource on " + device.name(), e);
        }
        try {
            CL.clBuildProgram(p, 1, new cl_device_id[] {deviceId}, options, null, null);
            return p;
        } catch (CLException e) {
            String log = buildLog(p);
            objects.release(p);
            String first = log.lines().filter(l -> l.contains("error")).findFirst().orElse(log.lines().findFirst().orElse(""));
            throw new SlimqException(Failure.DEVICE, "OpenCL kernel build failed on " + device.name() + ": " + ClErrors.describe(e.getStatus())
                    + (first.isBlank() ? "" : " — " + first.trim()), e);
        }
    }

    private String buildLog(cl_program p) {
        try {
            long[] size = new long[1];
            CL.clGetProgramBuildInfo(p, deviceId, CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] b = new byte[(int) Math.min(size[0], 1 << 20)];
            CL.clGetProgramBuildInfo(p, deviceId, CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null);
            return new String(b, StandardCharsets.UTF_8).replace("\0", "");
        } catch (CLException e) {
            return "";
        }
    }

    private cl_kernel kernel(cl_program p, String name) {
        Map<String, cl_kernel> m = kernels.computeIfAbsent(p, k -> new HashMap<>());
        cl_kernel k = m.get(name);
        if (k == null) {
            try {
                k = CL.clCreateKernel(p, name, null);
                objects.kernels.incrementAndGet();
            } catch (CLException e) {
                throw ClErrors.device("clCreateKernel(" + name + ")", e);
            }
            m.put(name, k);
        }
        return k;
    }

    /** The fused kernel for tiles of {@code width} words (one program per tile width in use). */
    private cl_kernel quantKernel(int width, int bits, boolean gemm) {
        return kernel(program("quant", width), KernelSources.quantName(bits, gemm));
    }

    private cl_kernel denseKernel(boolean halfW, boolean gemm) {
        return kernel(program("dense", policy.width()), KernelSources.denseName(halfW, gemm));
    }

    /** The largest work-group this kernel may run with on this device. */
    private long kernelMaxLocal(cl_kernel k) {
        return kernelLimits.computeIfAbsent(k, kk -> {
            long[] v = new long[1];
            CL.clGetKernelWorkGroupInfo(kk, deviceId, CL.CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(v), null);
            return v[0];
        });
    }

    // ---- buffers -------------------------------------------------------------------------------

    private cl_mem upload(String what, long bytes, Pointer host) {
        if (bytes == 0) {
            return null;
        }
        if (bytes > device.maxAllocationBytes()) {
            throw new SlimqException(Failure.DEVICE, what + " needs a buffer of " + bytes + " bytes; " + device.name() + " allows at most "
                    + device.maxAllocationBytes() + " in one allocation");
        }
        try {
            return objects.created(CL.clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, host, null));
        } catch (CLException e) {
            throw ClErrors.device("allocating " + bytes + " bytes for " + what + " on " + device.name(), e);
        }
    }

    private cl_mem duplicate(cl_mem src, long bytes, String what) {
        if (src == null) {
            return null;
        }
        try {
            cl_mem m = objects.created(CL.clCreateBuffer(context, CL_MEM_READ_ONLY, bytes, null, null));
            CL.clEnqueueCopyBuffer(queue, src, m, 0, 0, bytes, 0, null, null);
            return m;
        } catch (CLException e) {
            throw ClErrors.device("copying " + bytes + " bytes of " + what, e);
        }
    }

    private cl_mem or(cl_mem m) {
        return m == null ? dummy : m;
    }

    private void ensureOutput(long bytes) {
        if (outputBytes >= bytes) {
            return;
        }
        objects.release(output);
        output = null;
        outputBytes = 0;
        try {
            output = objects.created(CL.clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null));
            outputBytes = bytes;
        } catch (CLException e) {
            throw ClErrors.device("allocating the output buffer (" + bytes + " bytes)", e);
        }
    }

    static boolean exactInHalf(float[] values) {
        for (float v : values) {
            if (!Float.isNaN(v) && Float.float16ToFloat(Float.floatToFloat16(v)) != v) {
                return false;
            }
        }
        return true;
    }

    static short[] toHalf(float[] values) {
        short[] h = new short[values.length];
        for (int i = 0; i < h.length; i++) {
            h[i] = Float.floatToFloat16(values[i]);
        }
        return h;
    }

    // ---- handles -------------------------------------------------------------------------------

    /** Weights resident on the device: quantized (tiled codes + scales + zeros + CSR) or float. */
    final class Weights implements PreparedWeights {
        final String name;
        final int rows;
        final int cols;
        final String format;
        // quantized
        final TiledLayout layout;
        final int flags;
        final float zconst;
        // float
        final boolean halfWeights;
        final int kp;
        /** Buffers by role, in a fixed order: codes, scales, zeros, resPtr, resCol, resVal (quantized) or weights (float). */
        final Map<String, cl_mem> mems;
        final Map<String, Long> sizes;
        boolean released;

        Weights(String name, int rows, int cols, String format, TiledLayout layout, int flags, float zconst, boolean halfWeights, int kp,
                Map<String, cl_mem> mems, Map<String, Long> sizes) {
            this.name = name;
            this.rows = rows;
            this.cols = cols;
            this.format = format;
            this.layout = layout;
            this.flags = flags;
            this.zconst = zconst;
            this.halfWeights = halfWeights;
            this.kp = kp;
            this.mems = mems;
            this.sizes = sizes;
            open.add(this);
        }

        boolean quantized() {
            return layout != null;
        }

        OpenClBackend owner() {
            return OpenClBackend.this;
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

        @Override
        public long weightBytes() {
            return sizes.values().stream().mapToLong(Long::longValue).sum();
        }

        @Override
        public String format() {
            return format;
        }

        @Override
        public void close() {
            synchronized (OpenClBackend.this) {
                if (released) {
                    return;
                }
                released = true;
                open.remove(this);
                if (!closed) {
                    mems.values().forEach(objects::release);
                }
            }
        }
    }

    /** Padded activations (and their chunk sums) on the device for one layout. */
    private record DeviceActivations(cl_mem x, cl_mem sums, int batchPadded) {
    }

    final class DeviceBatch implements Activations {
        final float[] host;
        final int batch;
        final int cols;
        final ActivationType type;
        final Map<String, DeviceActivations> layouts = new LinkedHashMap<>();
        boolean released;

        DeviceBatch(float[] host, int batch, int cols, ActivationType type) {
            this.host = host;
            this.batch = batch;
            this.cols = cols;
            this.type = type;
            open.add(this);
        }

        OpenClBackend owner() {
            return OpenClBackend.this;
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

        @Override
        public void close() {
            synchronized (OpenClBackend.this) {
                if (released) {
                    return;
                }
                released = true;
                open.remove(this);
                if (!closed) {
                    for (DeviceActivations d : layouts.values()) {
                        objects.release(d.x());
                        objects.release(d.sums());
                    }
                }
                layouts.clear();
            }
        }
    }

    // ---- preparation ---------------------------------------------------------------------------

    @Override
    public synchronized PreparedWeights prepare(QuantizedTensor q) {
        checkOpen();
        TiledLayout layout = TiledLayout.of(q, policy.width(), policy.wholeGroupChunks());
        int[] words = layout.pack(q);
        float[] zeros = q.zeros();
        boolean constantZero = true;
        for (float z : zeros) {
            if (Float.floatToIntBits(z) != Float.floatToIntBits(zeros[0])) {
                constantZero = false;
                break;
            }
        }
        boolean halfScales = exactInHalf(q.scales()) && (constantZero || exactInHalf(zeros));
        Outliers o = q.outliers();
        boolean residuals = o.count() > 0;
        boolean halfResiduals = residuals && exactInHalf(o.residual());
        int flags = (halfScales ? KernelSources.FLAG_HALF_SCALES : 0) | (constantZero ? 0 : KernelSources.FLAG_GROUP_ZEROS)
                | (residuals ? KernelSources.FLAG_RESIDUALS : 0) | (halfResiduals ? KernelSources.FLAG_HALF_RESIDUAL : 0);
        Map<String, cl_mem> mems = new LinkedHashMap<>();
        Map<String, Long> sizes = new LinkedHashMap<>();
        String what = q.name();
        try {
            put(mems, sizes, "codes", (long) words.length * 4, Pointer.to(words), what);
            if (halfScales) {
                put(mems, sizes, "scales", (long) q.scales().length * 2, Pointer.to(toHalf(q.scales())), what);
                if (!constantZero) {
                    put(mems, sizes, "zeros", (long) zeros.length * 2, Pointer.to(toHalf(zeros)), what);
                }
            } else {
                put(mems, sizes, "scales", (long) q.scales().length * 4, Pointer.to(q.scales()), what);
                if (!constantZero) {
                    put(mems, sizes, "zeros", (long) zeros.length * 4, Pointer.to(zeros), what);
                }
            }
            if (residuals) {
                put(mems, sizes, "resPtr", (long) o.rowPtr().length * 4, Pointer.to(o.rowPtr()), what);
                int[] cols = layout.paddedOutlierColumns(o);
                put(mems, sizes, "resCol", (long) cols.length * 4, Pointer.to(cols), what);
                if (halfResiduals) {
                    put(mems, sizes, "resVal", (long) o.count() * 2, Pointer.to(toHalf(o.residual())), what);
                } else {
                    put(mems, sizes, "resVal", (long) o.count() * 4, Pointer.to(o.residual()), what);
                }
            }
        } catch (RuntimeException e) {
            mems.values().forEach(objects::release);
            throw e;
        }
        var s = q.scheme();
        String format = "q" + s.bits() + " g" + s.groupSize() + (s.symmetric() ? " sym" : " asym") + (halfScales ? " f16" : " f32") + "-scales"
                + (constantZero ? "" : " " + s.zeroMode().name().toLowerCase(Locale.ROOT) + "-zeros") + (residuals ? " +" + o.count() + " outliers" : "")
                + " (tiles " + layout.width() + "x" + layout.storedBits() + "-bit)";
        return new Weights(q.name(), q.rows(), q.cols(), format, layout, flags, constantZero ? zeros[0] : 0f, false, layout.paddedCols(), mems, sizes);
    }

    private void put(Map<String, cl_mem> mems, Map<String, Long> sizes, String role, long bytes, Pointer host, String what) {
        mems.put(role, upload(what + " " + role, bytes, host));
        sizes.put(role, bytes);
    }

    @Override
    public synchronized PreparedWeights prepareDense(String name, float[] weights, int rows, int cols, DType storage) {
        checkOpen();
        if (storage != DType.F16 && storage != DType.F32) {
            throw new IllegalArgumentException("dense weights are stored as F16 or F32, not " + storage.wireName());
        }
        if (rows < 1 || cols < 1 || weights.length < (long) rows * cols) {
            throw new IllegalArgumentException(weights.length + " weights for " + rows + "x" + cols);
        }
        int kp = (cols + 31) / 32 * 32;
        long n = (long) rows * kp;
        if (n > Integer.MAX_VALUE - 8) {
            throw new SlimqException(Failure.UNSUPPORTED, name + ": " + rows + "x" + cols + " is too large for one float buffer");
        }
        Map<String, cl_mem> mems = new LinkedHashMap<>();
        Map<String, Long> sizes = new LinkedHashMap<>();
        boolean half = storage == DType.F16;
        if (half) {
            short[] h = new short[(int) n];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    h[r * kp + c] = Float.floatToFloat16(weights[r * cols + c]);
                }
            }
            put(mems, sizes, "weights", n * 2, Pointer.to(h), name);
        } else {
            float[] f = new float[(int) n];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(weights, r * cols, f, r * kp, cols);
            }
            put(mems, sizes, "weights", n * 4, Pointer.to(f), name);
        }
        return new Weights(name, rows, cols, half ? "f16" : "f32", null, 0, 0f, half, kp, mems, sizes);
    }

    @Override
    public synchronized PreparedWeights copyOf(PreparedWeights weights) {
        Weights w = own(weights);
        Map<String, cl_mem> mems = new LinkedHashMap<>();
        try {
            for (var e : w.mems.entrySet()) {
                mems.put(e.getKey(), duplicate(e.getValue(), w.sizes.get(e.getKey()), w.name));
            }
            CL.clFinish(queue);
        } catch (RuntimeException e) {
            mems.values().forEach(objects::release);
            throw e instanceof CLException ce ? ClErrors.device("copying " + w.name, ce) : e;
        }
        return new Weights(w.name, w.rows, w.cols, w.format, w.layout, w.flags, w.zconst, w.halfWeights, w.kp, mems, new LinkedHashMap<>(w.sizes));
    }

    @Override
    public synchronized Activations activations(float[] x, int batch, int cols, ActivationType type) {
        checkOpen();
        if (batch < 1 || cols < 1 || x.length < (long) batch * cols) {
            throw new IllegalArgumentException(x.length + " activations for batch " + batch + " x " + cols);
        }
        return new DeviceBatch(java.util.Arrays.copyOf(x, batch * cols), batch, cols, type);
    }

    /** Batch rows the device buffers hold: 1 for a GEMV, else a multiple of the GEMM's columns per work-item. */
    private int batchPadded(int batch) {
        return batch == 1 ? 1 : (batch + policy.gemmCols() - 1) / policy.gemmCols() * policy.gemmCols();
    }

    /** The activations in the padded form {@code w} reads, uploaded on first use. */
    private DeviceActivations deviceActivations(Weights w, DeviceBatch a) {
        int bp = batchPadded(a.batch);
        String key = w.quantized() ? "q " + w.layout.groupSize() + " " + w.layout.paddedGroup() + " " + w.layout.chunkTiles() * w.layout.tileCodes()
                : "d " + w.kp;
        DeviceActivations d = a.layouts.get(key);
        if (d != null) {
            return d;
        }
        float[] padded;
        float[] sums = null;
        if (w.quantized()) {
            padded = w.layout.padActivations(a.host, a.batch, bp, a.type);
            sums = w.layout.chunkSums(padded, bp);
        } else {
            padded = new float[Math.multiplyExact(bp, w.kp)];
            for (int b = 0; b < a.batch; b++) {
                for (int c = 0; c < a.cols; c++) {
                    padded[b * w.kp + c] = a.type.round(a.host[b * a.cols + c]);
                }
            }
        }
        cl_mem xm = a.type == ActivationType.F16 ? upload("activations", (long) padded.length * 2, Pointer.to(toHalf(padded)))
                : upload("activations", (long) padded.length * 4, Pointer.to(padded));
        cl_mem sm = null;
        try {
            sm = sums == null ? null : upload("activation sums", (long) sums.length * 4, Pointer.to(sums));
        } catch (RuntimeException e) {
            objects.release(xm);
            throw e;
        }
        d = new DeviceActivations(xm, sm, bp);
        a.layouts.put(key, d);
        return d;
    }

    // ---- products ------------------------------------------------------------------------------

    @Override
    public synchronized void matmul(PreparedWeights weights, Activations x, float[] y) {
        Weights w = own(weights);
        DeviceBatch a = own(x);
        checkShapes(w, a);
        long n = (long) a.batch * w.rows;
        if (y.length < n) {
            throw new IllegalArgumentException("output holds " + y.length + " values, product has " + n);
        }
        try {
            DeviceActivations d = deviceActivations(w, a);
            ensureOutput(n * 4);
            if (poison) {
                CL.clEnqueueFillBuffer(queue, output, Pointer.to(new float[] {Float.NaN}), 4, 0, n * 4, 0, null, null);
            }
            enqueue(w, a, d, null);
            CL.clEnqueueReadBuffer(queue, output, CL_TRUE, 0, n * 4, Pointer.to(y), 0, null, null);
        } catch (CLException e) {
            throw ClErrors.device("product " + w.name + " (" + w.rows + "x" + w.cols + ", batch " + a.batch + ") on " + device.name(), e);
        }
    }

    private void checkShapes(Weights w, DeviceBatch a) {
        if (a.cols != w.cols) {
            throw new IllegalArgumentException("activations have " + a.cols + " columns, " + w.name + " has " + w.cols);
        }
    }

    /** Sets the arguments and enqueues one product into {@link #output}; {@code event} (may be null) receives its event. */
    private void enqueue(Weights w, DeviceBatch a, DeviceActivations d, cl_event event) {
        boolean gemm = a.batch > 1;
        boolean halfX = a.type == ActivationType.F16;
        int rb = gemm ? policy.gemmRows() : policy.gemvRows();
        int nb = gemm ? policy.gemmCols() : 1;
        cl_kernel k;
        int team;
        int arg = 0;
        if (w.quantized()) {
            TiledLayout l = w.layout;
            k = quantKernel(l.width(), l.storedBits(), gemm);
            team = policy.teamFor(l.chunksPerRow());
        } else {
            k = denseKernel(w.halfWeights, gemm);
            team = policy.teamFor(w.kp / policy.width());
        }
        int local = policy.localFor(w.rows, rb, team);
        long maxLocal = kernelMaxLocal(k);
        while (local > maxLocal && local > 1) {
            local /= 2;
        }
        team = Math.min(team, local);
        int rowsPerGroup = local / team * rb;
        long groups = (w.rows + rowsPerGroup - 1) / rowsPerGroup;
        int flags = w.flags | (halfX ? KernelSources.FLAG_HALF_X : 0);
        if (subGroupsBuilt && team > 1) {
            flags |= KernelSources.FLAG_TRY_SUBGROUPS;
        }
        if (w.quantized()) {
            TiledLayout l = w.layout;
            boolean halfScales = (w.flags & KernelSources.FLAG_HALF_SCALES) != 0;
            boolean halfRes = (w.flags & KernelSources.FLAG_HALF_RESIDUAL) != 0;
            cl_mem scales = w.mems.get("scales");
            cl_mem zeros = w.mems.get("zeros");
            cl_mem resVal = w.mems.get("resVal");
            arg = mem(k, arg, w.mems.get("codes"));
            arg = mem(k, arg, halfScales ? scales : null);
            arg = mem(k, arg, halfScales ? null : scales);
            arg = mem(k, arg, halfScales ? zeros : null);
            arg = mem(k, arg, halfScales ? null : zeros);
            arg = mem(k, arg, w.mems.get("resPtr"));
            arg = mem(k, arg, w.mems.get("resCol"));
            arg = mem(k, arg, halfRes ? resVal : null);
            arg = mem(k, arg, halfRes ? null : resVal);
            arg = mem(k, arg, halfX ? null : d.x());
            arg = mem(k, arg, halfX ? d.x() : null);
            arg = mem(k, arg, d.sums());
            arg = mem(k, arg, output);
            CL.clSetKernelArg(k, arg++, (long) local * rb * nb * Sizeof.cl_float, null);
            arg = i32(k, arg, w.rows);
            arg = i32(k, arg, l.paddedCols());
            arg = i32(k, arg, l.paddedGroup());
            arg = i32(k, arg, l.chunkTiles());
            arg = i32(k, arg, a.batch);
            arg = i32(k, arg, team);
            arg = i32(k, arg, flags);
            CL.clSetKernelArg(k, arg, Sizeof.cl_float, Pointer.to(new float[] {w.zconst}));
        } else {
            arg = mem(k, arg, w.mems.get("weights"));
            arg = mem(k, arg, halfX ? null : d.x());
            arg = mem(k, arg, halfX ? d.x() : null);
            arg = mem(k, arg, output);
            CL.clSetKernelArg(k, arg++, (long) local * rb * nb * Sizeof.cl_float, null);
            arg = i32(k, arg, w.rows);
            arg = i32(k, arg, w.kp);
            arg = i32(k, arg, a.batch);
            arg = i32(k, arg, team);
            i32(k, arg, flags);
        }
        long[] global = {groups * local, d.batchPadded() / nb};
        long[] localSize = {local, 1};
        CL.clEnqueueNDRangeKernel(queue, k, 2, null, global, localSize, 0, null, event);
    }

    /** Device nanoseconds from the start to the end of a finished command. */
    private static long duration(cl_event ev) {
        long[] start = new long[1];
        long[] end = new long[1];
        CL.clGetEventProfilingInfo(ev, CL.CL_PROFILING_COMMAND_START, Sizeof.cl_ulong, Pointer.to(start), null);
        CL.clGetEventProfilingInfo(ev, CL.CL_PROFILING_COMMAND_END, Sizeof.cl_ulong, Pointer.to(end), null);
        return end[0] - start[0];
    }

    private int mem(cl_kernel k, int index, cl_mem m) {
        CL.clSetKernelArg(k, index, Sizeof.cl_mem, Pointer.to(or(m)));
        return index + 1;
    }

    private static int i32(cl_kernel k, int index, int v) {
        CL.clSetKernelArg(k, index, Sizeof.cl_int, Pointer.to(new int[] {v}));
        return index + 1;
    }

    @Override
    public synchronized long timeLaunches(List<? extends PreparedWeights> rotation, Activations x, int launches) {
        if (rotation.isEmpty() || launches < 1) {
            throw new IllegalArgumentException("need weights and at least one launch");
        }
        DeviceBatch a = own(x);
        List<Weights> ws = new ArrayList<>();
        List<DeviceActivations> ds = new ArrayList<>();
        long maxOut = 0;
        try {
            for (PreparedWeights p : rotation) {
                Weights w = own(p);
                checkShapes(w, a);
                ws.add(w);
                ds.add(deviceActivations(w, a));
                maxOut = Math.max(maxOut, (long) a.batch * w.rows * 4);
            }
            ensureOutput(maxOut);
            CL.clFinish(queue);
            // Device time of the products themselves (profiling events), not host wall time: on a
            // fast GPU one small product takes microseconds, as long as enqueueing it from Java.
            long total = 0;
            cl_event[] events = new cl_event[Math.min(launches, 256)];
            for (int i = 0; i < launches; ) {
                int batch = Math.min(events.length, launches - i);
                for (int e = 0; e < batch; e++, i++) {
                    events[e] = new cl_event();
                    int j = i % ws.size();
                    enqueue(ws.get(j), a, ds.get(j), events[e]);
                }
                CL.clWaitForEvents(batch, events);
                for (int e = 0; e < batch; e++) {
                    total += duration(events[e]);
                    CL.clReleaseEvent(events[e]);
                    events[e] = null;
                }
            }
            return total;
        } catch (CLException e) {
            throw ClErrors.device("timed products on " + device.name(), e);
        }
    }

    @Override
    public synchronized ReadProbe readProbe(long bytes) {
        checkOpen();
        if (bytes < 1 << 20) {
            throw new IllegalArgumentException("bandwidth buffer of " + bytes + " bytes");
        }
        int vw = policy.width();
        long vecBytes = 4L * vw;
        // CPUs: one contiguous slice per work-item, many more slices than cores; GPUs: grid-stride
        // with enough work-items to fill every compute unit, adjacent items reading adjacent vectors.
        long local = policy.contiguousStream() ? 1 : Math.min(256, Math.max(1, policy.localSize()));
        long global = policy.contiguousStream() ? 256L * policy.computeUnits() : 2048L * policy.computeUnits();
        global = (global + local - 1) / local * local;
        long n = Math.min(bytes, device.maxAllocationBytes()) / vecBytes / global * global;
        if (n == 0) {
            throw new IllegalArgumentException("bandwidth buffer too small for " + global + " work-items");
        }
        cl_mem buf = null;
        cl_mem out = null;
        try {
            cl_kernel k = kernel(program("stream", vw), "stream_read");
            buf = objects.created(CL.clCreateBuffer(context, CL_MEM_READ_WRITE, n * vecBytes, null, null));
            out = objects.created(CL.clCreateBuffer(context, CL_MEM_READ_WRITE, global * 4, null, null));
            CL.clEnqueueFillBuffer(queue, buf, Pointer.to(new float[] {1f}), 4, 0, n * vecBytes, 0, null, null);
            CL.clFinish(queue);
        } catch (CLException e) {
            objects.release(buf);
            objects.release(out);
            throw ClErrors.device("bandwidth probe on " + device.name(), e);
        }
        Probe p = new Probe(buf, out, n, vecBytes, new long[] {global}, new long[] {local});
        open.add(p);
        return p;
    }

    private final class Probe implements ReadProbe {
        final cl_mem buf;
        final cl_mem out;
        final long n;
        final long vecBytes;
        final long[] global;
        final long[] local;
        boolean released;

        Probe(cl_mem buf, cl_mem out, long n, long vecBytes, long[] global, long[] local) {
            this.buf = buf;
            this.out = out;
            this.n = n;
            this.vecBytes = vecBytes;
            this.global = global;
            this.local = local;
        }

        @Override
        public long bytes() {
            return n * vecBytes;
        }

        @Override
        public double measure() {
            synchronized (OpenClBackend.this) {
                checkOpen();
                if (released) {
                    throw new IllegalStateException("probe is closed");
                }
                try {
                    cl_kernel k = kernel(program("stream", policy.width()), "stream_read");
                    CL.clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(buf));
                    CL.clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(out));
                    CL.clSetKernelArg(k, 2, Sizeof.cl_long, Pointer.to(new long[] {n}));
                    CL.clSetKernelArg(k, 3, Sizeof.cl_int, Pointer.to(new int[] {policy.contiguousStream() ? 1 : 0}));
                    CL.clFinish(queue);
                    cl_event ev = new cl_event();
                    CL.clEnqueueNDRangeKernel(queue, k, 1, null, global, local, 0, null, ev);
                    CL.clWaitForEvents(1, new cl_event[] {ev});
                    long ns = duration(ev);
                    CL.clReleaseEvent(ev);
                    return bytes() / (Math.max(1, ns) / 1e9);
                } catch (CLException e) {
                    throw ClErrors.device("bandwidth probe on " + device.name(), e);
                }
            }
        }

        @Override
        public void close() {
            synchronized (OpenClBackend.this) {
                if (released) {
                    return;
                }
                released = true;
                open.remove(this);
                if (!closed) {
                    objects.release(buf);
                    objects.release(out);
                }
            }
        }
    }

    // ---- lifecycle -----------------------------------------------------------------------------

    private Weights own(PreparedWeights p) {
        checkOpen();
        if (!(p instanceof Weights w) || w.owner() != this) {
            throw new IllegalArgumentException("weights " + p.name() + " were prepared by another backend");
        }
        if (w.released) {
            throw new IllegalStateException("weights " + w.name + " are closed");
        }
        return w;
    }

    private DeviceBatch own(Activations x) {
        checkOpen();
        if (!(x instanceof DeviceBatch b) || b.owner() != this) {
            throw new IllegalArgumentException("activations were made by another backend");
        }
        if (b.released) {
            throw new IllegalStateException("activations are closed");
        }
        return b;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("backend " + name() + " is closed");
        }
    }

    /** Handles and activations not yet closed. */
    synchronized int openHandles() {
        return open.size();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            CL.clFinish(queue);
        } catch (CLException e) {
            // closing anyway: release what we hold
        }
        for (AutoCloseable h : new ArrayList<>(open)) {
            try {
                h.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        closed = true;
        objects.release(output);
        objects.release(dummy);
        for (Map<String, cl_kernel> m : kernels.values()) {
            m.values().forEach(objects::release);
        }
        kernels.clear();
        kernelLimits.clear();
        programs.values().forEach(objects::release);
        programs.clear();
        programsByFamily.clear();
        objects.release(queue);
        objects.release(context);
    }
}
