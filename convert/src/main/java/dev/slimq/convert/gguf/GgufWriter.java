package dev.slimq.convert.gguf;

import dev.slimq.core.IoFailures;
import dev.slimq.core.io.PendingOutputs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Streams a GGUF v3 file (ggml {@code docs/gguf.md}): magic {@code "GGUF"}, u32 version 3, u64 tensor
 * count, u64 KV count, the KV pairs, the tensor infos (name, u32 n_dims, u64 dims in ggml order, u32
 * type, u64 offset), zero padding to the alignment, then the data, each tensor at an aligned offset and
 * padded to the alignment, the last one included (llama.cpp's {@code gguf.cpp} requires tensors in
 * info order, contiguous, each padded: "tensor ... has offset X, expected Y").
 *
 * <p>Every size is known up front, so the whole header is written before any data and tensors are then
 * written in info order, one at a time, without holding the output in memory. The file is assembled
 * under a hidden temp name in the target directory (registered with {@link PendingOutputs}, so a failure
 * or SIGTERM leaves nothing) and renamed over the target by {@link #commit}.
 */
public final class GgufWriter implements AutoCloseable {
    /** ggml {@code GGUF_DEFAULT_ALIGNMENT}. */
    public static final int ALIGNMENT = 32;
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    static final int VERSION = 3;

    /** A tensor to write: name, row-major shape and type. */
    public record Planned(String name, long[] shape, GgmlType type) {
        public Planned {
            shape = shape.clone();
        }
    }

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final List<GgufTensorInfo> infos;
    private final long dataStart;
    private int next;
    private long position;
    private boolean committed;
    private boolean closed;

    private GgufWriter(Path target, Path temp, FileChannel channel, List<GgufTensorInfo> infos, long dataStart) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
        this.infos = infos;
        this.dataStart = dataStart;
        this.position = dataStart;
    }

    /**
     * Creates the temp file and writes the header. {@code general.alignment} is added (u32, 32) unless
     * present; tensor names must be unique and shorter than 64 bytes (llama.cpp's {@code GGML_MAX_NAME}).
     */
    public static GgufWriter create(Path target, Map<String, GgufValue> kv, List<Planned> tensors) {
        Map<String, GgufValue> meta = new LinkedHashMap<>(kv);
        meta.putIfAbsent("general.alignment", GgufValue.u32(ALIGNMENT));
        if (meta.get("general.alignment").type() != GgufValueType.UINT32 || meta.get("general.alignment").asLong() != ALIGNMENT) {
            throw new IllegalArgumentException("slimq writes general.alignment = 32 (u32) only");
        }
        List<GgufTensorInfo> infos = new ArrayList<>();
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (Planned p : tensors) {
            if (!names.add(p.name())) {
                throw new IllegalArgumentException("tensor '" + p.name() + "' planned twice");
            }
            if (p.name().getBytes(StandardCharsets.UTF_8).length >= 64) {
                throw new IllegalArgumentException("tensor name '" + p.name() + "' is 64 bytes or longer");
            }
            if (p.shape().length < 1 || p.shape().length > 4) {
                throw new IllegalArgumentException("tensor '" + p.name() + "' has " + p.shape().length + " dims; GGUF allows 1 to 4");
            }
            GgufTensorInfo t = new GgufTensorInfo(p.name(), GgufTensorInfo.dimsOf(p.shape()), p.type(), offset);
            if (t.dims()[0] % p.type().blockSize() != 0) {
                throw new IllegalArgumentException("tensor '" + p.name() + "': row length " + t.dims()[0] + " is not a multiple of "
                        + p.type() + "'s block size " + p.type().blockSize());
            }
            infos.add(t);
            offset = align(Math.addExact(offset, t.byteSize()));
        }
        byte[] header = header(meta, infos);
        long dataStart = align(header.length);
        Path temp = target.resolveSibling("." + target.getFileName() + ".partial");
        PendingOutputs.register(temp);
        FileChannel ch = null;
        try {
            Path parent = target.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
            ByteBuffer hb = ByteBuffer.allocate((int) dataStart);
            hb.put(header).position((int) dataStart).flip();
            writeFully(ch, hb, 0);
        } catch (IOException e) {
            closeQuietly(ch);
            PendingOutputs.deleteRecursively(temp);
            PendingOutputs.unregister(temp);
            throw IoFailures.wrap("write", target, e);
        }
        return new GgufWriter(target, temp, ch, List.copyOf(infos), dataStart);
    }

    /** The tensor infos with their offsets, in file order. */
    public List<GgufTensorInfo> tensors() {
        return infos;
    }

    static long align(long n) {
        return Math.addExact(n, (ALIGNMENT - n % ALIGNMENT) % ALIGNMENT);
    }

    /**
     * Writes the next tensor's bytes (exactly {@code byteSize()} of the next info, in info order) and
     * its padding.
     */
    public void write(String name, ByteBuffer data) {
        if (closed || next >= infos.size()) {
            throw new IllegalStateException("no more tensors planned in " + target);
        }
        GgufTensorInfo t = infos.get(next);
        if (!t.name().equals(name)) {
            throw new IllegalStateException("tensors are written in info order: expected '" + t.name() + "', got '" + name + "'");
        }
        if (data.remaining() != t.byteSize()) {
            throw new IllegalStateException("tensor '" + name + "': " + data.remaining() + " bytes given, " + t.byteSize() + " planned");
        }
        try {
            writeFully(channel, data, dataStart + t.offset());
            long end = dataStart + align(t.offset() + t.byteSize());
            long pad = end - (dataStart + t.offset() + t.byteSize());
            if (pad > 0) {
                writeFully(channel, ByteBuffer.allocate((int) pad), end - pad);
            }
            position = end;
        } catch (IOException e) {
            throw IoFailures.wrap("write", target, e);
        }
        next++;
    }

    /** Checks every tensor was written, flushes, and renames the temp file over the target. */
    public void commit() {
        if (committed) {
            return;
        }
        if (next != infos.size()) {
            throw new IllegalStateException(target + ": " + (infos.size() - next) + " planned tensors not written, e.g. '" + infos.get(next).name() + "'");
        }
        try {
            channel.truncate(position);
            channel.force(true);
            channel.close();
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            committed = true;
            PendingOutputs.unregister(temp);
        } catch (IOException e) {
            throw IoFailures.wrap("write", target, e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!committed) {
            closeQuietly(channel);
            PendingOutputs.deleteRecursively(temp);
            PendingOutputs.unregister(temp);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the temp file is deleted next
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    /** Header bytes up to (not including) the alignment padding. */
    static byte[] header(Map<String, GgufValue> kv, List<GgufTensorInfo> infos) {
        Out o = new Out();
        o.u32(MAGIC);
        o.u32(VERSION);
        o.u64(infos.size());
        o.u64(kv.size());
        for (Map.Entry<String, GgufValue> e : kv.entrySet()) {
            o.string(e.getKey());
            o.u32(e.getValue().type().id());
            o.value(e.getValue().type(), e.getValue().elementType(), e.getValue().value());
        }
        for (GgufTensorInfo t : infos) {
            o.string(t.name());
            long[] dims = t.dims();
            o.u32(dims.length);
            for (long d : dims) {
                o.u64(d);
            }
            o.u32(t.type().id());
            o.u64(t.offset());
        }
        return o.bytes();
    }

    /** Little-endian header builder. */
    private static final class Out {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void u32(long v) {
            scratch.clear();
            scratch.putInt((int) v);
            out.write(scratch.array(), 0, 4);
        }

        void u64(long v) {
            scratch.clear();
            scratch.putLong(v);
            out.write(scratch.array(), 0, 8);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            out.write(b, 0, b.length);
        }

        void value(GgufValueType type, GgufValueType elem, Object v) {
            switch (type) {
                case UINT8, INT8 -> out.write((int) (long) (Long) v);
                case UINT16, INT16 -> {
                    long x = (Long) v;
                    out.write((int) x & 0xFF);
                    out.write((int) (x >>> 8) & 0xFF);
                }
                case UINT32, INT32 -> u32((Long) v);
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT32 -> u32(Float.floatToRawIntBits((Float) v));
                case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) v));
                case BOOL -> out.write((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> {
                    List<?> l = (List<?>) v;
                    u32(elem.id());
                    u64(l.size());
                    for (Object x : l) {
                        if (x instanceof GgufValue g) {
                            value(g.type(), g.elementType(), g.value());
                        } else {
                            value(elem, null, x);
                        }
                    }
                }
            }
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
