package dev.slimq.core.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A tensor's bytes (all of them, or a window of whole rows) with the info that says how to read
 * them. The segment is read with unaligned little-endian layouts: offsets inside a safetensors file
 * carry no alignment guarantee. Closing the view releases the mapping; using it afterwards fails.
 *
 * <p>{@code firstElement} is the index, in the whole tensor, of the view's first element: 0 for a
 * whole-tensor view, {@code firstRow * cols} for a row window.
 */
public final class TensorView implements AutoCloseable {
    private final TensorInfo info;
    private final MemorySegment segment;
    private final long firstElement;
    private final Arena arena;

    public TensorView(TensorInfo info, MemorySegment segment, long firstElement, Arena arena) {
        this.info = info;
        this.segment = segment;
        this.firstElement = firstElement;
        this.arena = arena;
    }

    /** Wraps bytes already in memory (tests, in-process pipelines); nothing to release. */
    public static TensorView ofSegment(TensorInfo info, MemorySegment segment) {
        return new TensorView(info, segment, 0, null);
    }

    public TensorInfo info() {
        return info;
    }

    public DType dtype() {
        return info.dtype();
    }

    public MemorySegment segment() {
        return segment;
    }

    public long firstElement() {
        return firstElement;
    }

    /** Elements held by this view. */
    public long elementCount() {
        return segment.byteSize() * 8 / info.dtype().bits();
    }

    /** Element {@code i} of this view as a float. */
    public float getFloat(long i) {
        return FloatCodec.decodeFloat(info.dtype(), segment, i);
    }

    /** Element {@code i} of this view as an exact double. */
    public double getDouble(long i) {
        return FloatCodec.decodeDouble(info.dtype(), segment, i);
    }

    /** Decodes elements {@code [first, first + len)} of this view into {@code dst[off..]}. */
    public void readFloats(long first, float[] dst, int off, int len) {
        if (first < 0 || len < 0 || first > elementCount() - len) {
            throw new IndexOutOfBoundsException("elements [" + first + ", " + (first + len) + ") of " + elementCount());
        }
        FloatCodec.decode(info.dtype(), segment, first, dst, off, len);
    }

    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
    }
}
