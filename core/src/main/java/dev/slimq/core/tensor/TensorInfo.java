package dev.slimq.core.tensor;

import java.util.Arrays;

/**
 * One tensor as declared in a safetensors header: its name, element type, shape and the byte range
 * of its data relative to the start of the data section.
 *
 * <p>Instances built by the reader have already been validated: the element count and byte size
 * fit in a {@code long}, and {@code end - begin} equals the size implied by dtype and shape.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    /** A planned tensor not yet placed in a file (offsets zero). */
    public static TensorInfo planned(String name, DType dtype, long... shape) {
        long bytes = byteSize(dtype, shape);
        return new TensorInfo(name, dtype, shape, 0, bytes);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    /** Number of elements (1 for a scalar). */
    public long elementCount() {
        return elementCount(shape);
    }

    public long byteCount() {
        return end - begin;
    }

    /**
     * Rows of the matrix view: [shape[0], product of the rest] for rank 2 and up, one row for
     * scalars and vectors (a vector is a single row of its length).
     */
    public long rows() {
        return shape.length < 2 ? 1 : shape[0];
    }

    /** Columns of the matrix view (see {@link #rows()}). */
    public long cols() {
        if (shape.length < 2) {
            return shape.length == 0 ? 1 : shape[0];
        }
        long c = 1;
        for (int i = 1; i < shape.length; i++) {
            c = Math.multiplyExact(c, shape[i]);
        }
        return c;
    }

    public TensorInfo withOffsets(long newBegin, long newEnd) {
        return new TensorInfo(name, dtype, shape, newBegin, newEnd);
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** Element count of a shape with exact arithmetic; throws {@link ArithmeticException} on overflow. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension " + d);
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Bytes needed for a tensor of this dtype and shape, with exact arithmetic; throws
     * {@link ArithmeticException} on overflow and {@link IllegalArgumentException} when a sub-byte
     * tensor does not end on a byte.
     */
    public static long byteSize(DType dtype, long[] shape) {
        long bits = Math.multiplyExact(elementCount(shape), (long) dtype.bits());
        if (bits % 8 != 0) {
            throw new IllegalArgumentException(dtype.wireName() + " tensor of shape " + Arrays.toString(shape)
                    + " does not end on a byte boundary");
        }
        return bits / 8;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + dtype.hashCode()) * 31 + Arrays.hashCode(shape) + Long.hashCode(begin);
    }

    @Override
    public String toString() {
        return name + " " + dtype.wireName() + shapeString() + " @[" + begin + "," + end + ")";
    }
}
