package dev.slimq.kernels.bench;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.List;

/**
 * What {@code slimq bench} measures.
 *
 * @param shapes            matrices as {@code [rows, cols]} = {@code [out, in]}: K = cols, the length of each dot
 *                          product (PyTorch/safetensors weight shape order)
 * @param batches           activation rows per product (1 = GEMV)
 * @param bits              code width of the fused kernel
 * @param groupSize         group size along K ({@code -1}: one group per row)
 * @param zeros             {@code none} (symmetric), {@code int} or {@code float} zero points
 * @param iterations        timed passes over the weight copies; the median pass is reported
 * @param minWorkingSet     bytes of weight copies each kernel rotates over at least, so products
 *                          stream from DRAM/HBM
 * @param cacheMultiple     the copies also exceed this many times the device's last-level cache (4)
 * @param bandwidthBytes    size of the read-bandwidth probe buffer
 * @param compareF32        also time the f32 float kernel (f16 is always timed: it is the baseline)
 */
public record BenchSettings(List<Shape> shapes, List<Integer> batches, int bits, int groupSize, String zeros, int iterations,
                            long minWorkingSet, int cacheMultiple, long bandwidthBytes, boolean compareF32) {

    /** A matrix shape: {@code rows} outputs, {@code cols} inputs (K). */
    public record Shape(int rows, int cols) {
        public Shape {
            if (rows < 1 || cols < 1) {
                throw new IllegalArgumentException("shape must be positive, got " + rows + "x" + cols);
            }
        }

        /** Parses {@code ROWSxCOLS}, e.g. {@code 4096x11008}. */
        public static Shape parse(String s) {
            String[] p = s.trim().toLowerCase(java.util.Locale.ROOT).split("x");
            if (p.length != 2) {
                throw new IllegalArgumentException("shape must be ROWSxCOLS (out x in), got '" + s + "'");
            }
            try {
                return new Shape(Integer.parseInt(p[0]), Integer.parseInt(p[1]));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("shape must be ROWSxCOLS (out x in), got '" + s + "'");
            }
        }

        @Override
        public String toString() {
            return rows + "x" + cols;
        }
    }

    public static final List<Shape> DEFAULT_SHAPES = List.of(new Shape(4096, 4096), new Shape(4096, 11008), new Shape(11008, 4096),
            new Shape(8192, 8192), new Shape(896, 4864), new Shape(384, 1536));
    public static final List<Integer> DEFAULT_BATCHES = List.of(1, 8, 64);
    public static final long GIB = 1L << 30;

    public BenchSettings {
        shapes = List.copyOf(shapes);
        batches = List.copyOf(batches);
        if (shapes.isEmpty() || batches.isEmpty()) {
            throw new IllegalArgumentException("need at least one shape and one batch size");
        }
        for (int b : batches) {
            if (b < 1 || b > 256) {
                throw new IllegalArgumentException("batch sizes are 1..256, got " + b);
            }
        }
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits must be 2, 3, 4 or 8, got " + bits);
        }
        if (!List.of("none", "int", "float").contains(zeros)) {
            throw new IllegalArgumentException("zeros must be none, int or float, got " + zeros);
        }
        if (iterations < 1 || minWorkingSet < 0 || cacheMultiple < 0 || bandwidthBytes < (1 << 20)) {
            throw new IllegalArgumentException("iterations >= 1, working set >= 0, cache multiple >= 0, bandwidth buffer >= 1 MiB");
        }
        for (Shape s : shapes) {
            int g = groupSize == -1 ? s.cols() : groupSize;
            if (g < 1 || s.cols() % g != 0) {
                throw new IllegalArgumentException("group size " + groupSize + " does not divide K = " + s.cols() + " of " + s);
            }
        }
    }

    public static BenchSettings defaults() {
        return new BenchSettings(DEFAULT_SHAPES, DEFAULT_BATCHES, 4, 128, "none", 5, GIB, 4, GIB, true);
    }

    /** The quantization scheme benchmarked for a matrix with {@code cols} columns (F16 scales). */
    public QuantScheme scheme(int cols) {
        int g = groupSize == -1 ? cols : groupSize;
        return switch (zeros) {
            case "none" -> new QuantScheme(bits, g, true, ZeroMode.INTEGER, DType.F16);
            case "int" -> new QuantScheme(bits, g, false, ZeroMode.INTEGER, DType.F16);
            default -> new QuantScheme(bits, g, false, ZeroMode.FLOAT, DType.F16);
        };
    }
}
