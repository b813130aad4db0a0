package dev.slimq.core.safetensors;

import dev.slimq.core.Text;
import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.SlimqException;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SequencedMap;

/**
 * An open safetensors file whose header has been fully validated.
 *
 * <p>Data is never read eagerly. {@link #map} maps one tensor (or a window of its rows) into a
 * fresh arena owned by the returned {@link TensorView}; closing the view unmaps it, so the pages it
 * touched are released and memory stays bounded by what is open at once, not by the file.
 * Instances are safe to use from several threads: mapping is independent per view.
 */
public final class SafetensorsFile implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final SafetensorsHeader header;
    private final long size;

    private SafetensorsFile(Path path, FileChannel channel, SafetensorsHeader header, long size) {
        this.path = path;
        this.channel = channel;
        this.header = header;
        this.size = size;
    }

    /** Opens and validates {@code path}; throws {@link SafetensorsFormatException} or an IO failure. */
    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw IoFailures.wrap("open", path, e);
        }
        try {
            long size = ch.size();
            ByteBuffer prefix = ByteBuffer.allocate(8);
            if (size >= 8) {
                readFully(ch, prefix, 0);
            }
            long n = SafetensorsHeader.readLength(path, prefix, size);
            ByteBuffer headerBytes = ByteBuffer.allocate((int) n);
            readFully(ch, headerBytes, 8);
            SafetensorsHeader header = SafetensorsHeader.parse(path, headerBytes.array(), size);
            return new SafetensorsFile(path, ch, header, size);
        } catch (IOException e) {
            closeQuietly(ch);
            throw IoFailures.wrap("read", path, e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /** Reads and validates only the header (for fast listing of many shards). */
    public static SafetensorsHeader readHeader(Path path) {
        try (SafetensorsFile f = open(path)) {
            return f.header();
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int r = ch.read(dst, pos);
            if (r < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += r;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // already failing; the original error is the one to report
        }
    }

    public Path path() {
        return path;
    }

    public SafetensorsHeader header() {
        return header;
    }

    public List<TensorInfo> tensors() {
        return header.tensors();
    }

    public SequencedMap<String, String> metadata() {
        return header.metadata();
    }

    /** Size of the file in bytes. */
    public long fileSize() {
        return size;
    }

    public TensorInfo tensor(String name) {
        TensorInfo t = header.tensor(name);
        if (t == null) {
            throw new SlimqException(Failure.BAD_INPUT, path + ": no tensor named '" + Text.oneLine(name) + "'");
        }
        return t;
    }

    /** Maps a whole tensor; close the view to release it. */
    public TensorView map(String name) {
        TensorInfo t = tensor(name);
        return mapRange(t, t.begin(), t.byteCount(), 0);
    }

    /**
     * Maps rows {@code [firstRow, firstRow + rowCount)} of a tensor's matrix view (see
     * {@link TensorInfo#rows()}), so very large tensors can be streamed in windows. Element indices of
     * the returned view start at the first mapped row.
     */
    public TensorView mapRows(String name, long firstRow, long rowCount) {
        TensorInfo t = tensor(name);
        if (firstRow < 0 || rowCount < 0 || firstRow > t.rows() - rowCount) {
            throw new IndexOutOfBoundsException("rows [" + firstRow + ", " + (firstRow + rowCount) + ") of " + t);
        }
        if (t.dtype().isSubByte() && (t.cols() * t.dtype().bits()) % 8 != 0) {
            throw new IllegalArgumentException(t.name() + ": rows of " + t.dtype().wireName() + " do not start on a byte");
        }
        long rowBits = Math.multiplyExact(t.cols(), (long) t.dtype().bits());
        long rowBytes = rowBits / 8;
        return mapRange(t, t.begin() + firstRow * rowBytes, rowCount * rowBytes, firstRow * t.cols());
    }

    private TensorView mapRange(TensorInfo t, long begin, long length, long firstElement) {
        if (length == 0) {
            return new TensorView(t, MemorySegment.NULL, firstElement, null);
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = channel.map(FileChannel.MapMode.READ_ONLY, header.dataStart() + begin, length, arena);
            return new TensorView(t, seg, firstElement, arena);
        } catch (IOException e) {
            arena.close();
            throw IoFailures.wrap("map", path, e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw IoFailures.wrap("close", path, e);
        }
    }
}
