package dev.slimq.quantize.format;

import dev.slimq.core.safetensors.SafetensorsWriter.TensorSink;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Little-endian values into one tensor's sink through a small buffer, so packing loops stream
 * without building the packed tensor in memory. Closing flushes and closes the sink (which checks
 * that exactly the planned bytes arrived).
 */
final class SinkWriter implements AutoCloseable {
    private static final int BUFFER = 1 << 16;

    private final TensorSink sink;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.LITTLE_ENDIAN);

    SinkWriter(TensorSink sink) {
        this.sink = sink;
    }

    private void room(int bytes) {
        if (buf.remaining() < bytes) {
            flush();
        }
    }

    void putInt(int v) {
        room(4);
        buf.putInt(v);
    }

    void putInts(int[] src, int off, int len) {
        int o = off;
        int n = len;
        while (n > 0) {
            room(4);
            int k = Math.min(n, buf.remaining() / 4);
            buf.asIntBuffer().put(src, o, k);
            buf.position(buf.position() + 4 * k);
            o += k;
            n -= k;
        }
    }

    void putLong(long v) {
        room(8);
        buf.putLong(v);
    }

    void putShort(int v) {
        room(2);
        buf.putShort((short) v);
    }

    void putBytes(byte[] src, int off, int len) {
        int o = off;
        int n = len;
        while (n > 0) {
            if (!buf.hasRemaining()) {
                flush();
            }
            int k = Math.min(n, buf.remaining());
            buf.put(src, o, k);
            o += k;
            n -= k;
        }
    }

    /** Floats encoded in the tensor's planned dtype (see {@code TensorSink.writeFloats}). */
    void putFloats(float[] src, int off, int len) {
        flush();
        sink.writeFloats(src, off, len);
    }

    void flush() {
        if (buf.position() > 0) {
            buf.flip();
            sink.write(buf);
            buf.clear();
        }
    }

    @Override
    public void close() {
        flush();
        sink.close();
    }
}
