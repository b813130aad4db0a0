package dev.slimq.convert.gguf;

import static dev.slimq.convert.gguf.GgufFormatException.Reason.*;

import dev.slimq.core.IoFailures;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A validated, memory-mapped GGUF v3 file. Opening checks the whole header before anything is handed
 * out, with overflow-safe arithmetic, against untrusted input: magic and version 3 (llama.cpp's
 * {@code gguf.cpp} refuses version 1 and versions above 3; version 2 has the same layout and is
 * accepted), counts and string lengths that cannot fit in the rest of the file, unknown value and
 * tensor types, duplicate keys and tensor names, names of 64 bytes or more, n_dims outside 1..4,
 * dims not positive or a row length not a multiple of the block size, offsets misaligned, beyond the
 * file or overlapping. Any failure is a {@link GgufFormatException}; nothing else escapes for bad bytes.
 */
public final class GgufFile implements AutoCloseable {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MAX_ARRAY_DEPTH = 8;

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final Map<String, GgufValue> kv;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> byName;
    private final long dataStart;
    private final int version;

    private GgufFile(Path path, Arena arena, MemorySegment file, int version, Map<String, GgufValue> kv, List<GgufTensorInfo> tensors, long dataStart) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.version = version;
        this.kv = Collections.unmodifiableMap(kv);
        this.tensors = List.copyOf(tensors);
        Map<String, GgufTensorInfo> m = new LinkedHashMap<>();
        for (GgufTensorInfo t : tensors) {
            m.put(t.name(), t);
        }
        this.byName = m;
        this.dataStart = dataStart;
    }

    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.size() == 0 ? MemorySegment.NULL.reinterpret(0) : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            GgufFile f = parse(path, arena, seg);
            return f;
        } catch (IOException e) {
            arena.close();
            throw IoFailures.wrap("read", path, e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Validates {@code bytes} as a GGUF file (for tests and in-memory data); no file is kept open. */
    public static GgufFile of(Path name, MemorySegment bytes) {
        return parse(name, null, bytes);
    }

    private static GgufFile parse(Path path, Arena arena, MemorySegment seg) {
        Cursor c = new Cursor(path, seg);
        if (seg.byteSize() < 4 || seg.get(U32, 0) != GgufWriter.MAGIC) {
            throw new GgufFormatException(BAD_MAGIC, path, "the file does not start with \"GGUF\"");
        }
        c.pos = 4;
        long version = c.u32();
        if (version != 2 && version != 3) {
            throw new GgufFormatException(UNSUPPORTED_VERSION, path, "version " + version + "; slimq reads GGUF v3 (and v2)");
        }
        long tensorCount = c.u64();
        long kvCount = c.u64();
        // Each KV pair takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+8+4+8.
        if (kvCount < 0 || kvCount > c.remaining() / 13) {
            throw new GgufFormatException(COUNT_BEYOND_FILE, path, "metadata count " + Long.toUnsignedString(kvCount) + " cannot fit in the file");
        }
        if (tensorCount < 0 || tensorCount > c.remaining() / 32) {
            throw new GgufFormatException(COUNT_BEYOND_FILE, path, "tensor count " + Long.toUnsignedString(tensorCount) + " cannot fit in the file");
        }
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = c.string();
            GgufValueType type = c.valueType();
            GgufValue v = c.value(type, 0);
            if (kv.putIfAbsent(key, v) != null) {
                throw new GgufFormatException(DUPLICATE_KEY, path, "key '" + key + "' appears twice");
            }
        }
        long alignment = GgufWriter.ALIGNMENT;
        GgufValue a = kv.get("general.alignment");
        if (a != null) {
            if (a.type() != GgufValueType.UINT32 || a.asLong() == 0 || (a.asLong() & (a.asLong() - 1)) != 0 || a.asLong() % 8 != 0) {
                throw new GgufFormatException(BAD_ALIGNMENT, path, "general.alignment must be a u32 power of two and a multiple of 8");
            }
            alignment = a.asLong();
        }
        List<GgufTensorInfo> infos = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = c.string();
            if (name.getBytes(StandardCharsets.UTF_8).length >= 64) {
                throw new GgufFormatException(NAME_TOO_LONG, path, "tensor name '" + name + "' is 64 bytes or longer");
            }
            if (!names.add(name)) {
                throw new GgufFormatException(DUPLICATE_TENSOR, path, "tensor '" + name + "' appears twice");
            }
            long nDims = c.u32();
            if (nDims < 1 || nDims > 4) {
                throw new GgufFormatException(TOO_MANY_DIMS, path, "tensor '" + name + "' has " + nDims + " dims; at most 4 are allowed");
            }
            long[] dims = new long[(int) nDims];
            long count = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = c.u64();
                if (dims[d] <= 0) {
                    throw new GgufFormatException(BAD_DIM, path, "tensor '" + name + "' has dimension " + Long.toUnsignedString(dims[d]));
                }
                try {
                    count = Math.multiplyExact(count, dims[d]);
                } catch (ArithmeticException e) {
                    throw new GgufFormatException(OFFSET_OUT_OF_RANGE, path, "tensor '" + name + "' has more elements than fit in a file");
                }
            }
            long typeId = c.u32();
            GgmlType type = GgmlType.fromId(typeId).orElseThrow(() ->
                    new GgufFormatException(UNKNOWN_TENSOR_TYPE, path, "tensor '" + name + "' has ggml type " + typeId + ", which slimq does not read"));
            if (dims[0] % type.blockSize() != 0) {
                throw new GgufFormatException(NOT_BLOCK_MULTIPLE, path, "tensor '" + name + "': row length " + dims[0]
                        + " is not a multiple of " + type + "'s block size " + type.blockSize());
            }
            long offset = c.u64();
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufFormatException(OFFSET_MISALIGNED, path, "tensor '" + name + "' offset " + Long.toUnsignedString(offset)
                        + " is not a multiple of the alignment " + alignment);
            }
            infos.add(new GgufTensorInfo(name, dims, type, offset));
        }
        long dataStart = c.pos + (alignment - c.pos % alignment) % alignment;
        long dataSize = seg.byteSize() - dataStart;
        if (!infos.isEmpty() && dataSize < 0) {
            throw new GgufFormatException(TRUNCATED, path, "the data section starts beyond the end of the file");
        }
        List<GgufTensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(GgufTensorInfo::offset));
        long prevEnd = 0;
        String prev = null;
        for (GgufTensorInfo t : sorted) {
            long size;
            try {
                size = t.byteSize();
            } catch (ArithmeticException e) {
                throw new GgufFormatException(OFFSET_OUT_OF_RANGE, path, "tensor '" + t.name() + "' is larger than any file");
            }
            if (t.offset() > dataSize || size > dataSize - t.offset()) {
                throw new GgufFormatException(OFFSET_OUT_OF_RANGE, path, "tensor '" + t.name() + "' [" + t.offset() + ", +" + size
                        + ") lies beyond the data section of " + Math.max(0, dataSize) + " bytes");
            }
            if (t.offset() < prevEnd) {
                throw new GgufFormatException(OVERLAP, path, "tensor '" + t.name() + "' overlaps '" + prev + "'");
            }
            prevEnd = t.offset() + size;
            prev = t.name();
        }
        return new GgufFile(path, arena, seg, (int) version, kv, infos, dataStart);
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    /** Metadata in file order. */
    public Map<String, GgufValue> metadata() {
        return kv;
    }

    public Optional<GgufValue> get(String key) {
        return Optional.ofNullable(kv.get(key));
    }

    /** Tensor infos in file order. */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    public Optional<GgufTensorInfo> tensor(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Start of the data section in the file. */
    public long dataStart() {
        return dataStart;
    }

    /** The raw bytes of a tensor (valid until {@link #close}). */
    public MemorySegment data(GgufTensorInfo t) {
        return file.asSlice(dataStart + t.offset(), t.byteSize());
    }

    /** A whole tensor decoded to floats (at most {@code Integer.MAX_VALUE - 8} elements). */
    public float[] readFloats(GgufTensorInfo t) {
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new dev.slimq.core.SlimqException(dev.slimq.core.Failure.UNSUPPORTED, "tensor '" + t.name() + "' has " + n + " elements; slimq decodes at most 2^31 - 9 at once");
        }
        float[] out = new float[(int) n];
        GgmlBlocks.decode(t.type(), data(t), 0, out, 0, (int) n);
        return out;
    }

    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
    }

    /** Bounds-checked little-endian reader over the header. */
    private static final class Cursor {
        private final Path path;
        private final MemorySegment seg;
        long pos;

        Cursor(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
        }

        long remaining() {
            return seg.byteSize() - pos;
        }

        private void need(long n) {
            if (n > remaining()) {
                throw new GgufFormatException(TRUNCATED, path, "the header ends at byte " + seg.byteSize() + " while " + n + " more bytes were expected at " + pos);
            }
        }

        long u32() {
            need(4);
            long v = Integer.toUnsignedLong(seg.get(U32, pos));
            pos += 4;
            return v;
        }

        /** A u64; values of 2^63 and above come back negative, and every caller treats negative as out of range. */
        long u64() {
            need(8);
            long v = seg.get(U64, pos);
            pos += 8;
            return v;
        }

        int u8() {
            need(1);
            return seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
        }

        String string() {
            long len = u64();
            if (len < 0 || len > remaining()) {
                throw new GgufFormatException(STRING_BEYOND_FILE, path, "string of " + Long.toUnsignedString(len) + " bytes at " + (pos - 8)
                        + " runs past the end of the file");
            }
            byte[] b = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw new GgufFormatException(BAD_UTF8, path, "string at " + (pos - len) + " is not UTF-8");
            }
        }

        GgufValueType valueType() {
            long id = u32();
            return GgufValueType.fromId(id).orElseThrow(() -> new GgufFormatException(UNKNOWN_VALUE_TYPE, path, "value type " + id + " at " + (pos - 4)));
        }

        GgufValue value(GgufValueType type, int depth) {
            return switch (type) {
                case ARRAY -> {
                    if (depth >= MAX_ARRAY_DEPTH) {
                        throw new GgufFormatException(ARRAY_TOO_DEEP, path, "arrays nested deeper than " + MAX_ARRAY_DEPTH);
                    }
                    GgufValueType elem = valueType();
                    long count = u64();
                    long minSize = elem.size() > 0 ? elem.size() : elem == GgufValueType.STRING ? 8 : 12;
                    if (count < 0 || count > remaining() / minSize) {
                        throw new GgufFormatException(COUNT_BEYOND_FILE, path, "array of " + Long.toUnsignedString(count) + " elements cannot fit in the file");
                    }
                    List<Object> l = new ArrayList<>((int) count);
                    for (long i = 0; i < count; i++) {
                        GgufValue v = value(elem, depth + 1);
                        l.add(elem == GgufValueType.ARRAY ? v : v.value());
                    }
                    yield new GgufValue(GgufValueType.ARRAY, elem, l);
                }
                default -> new GgufValue(type, null, scalar(type));
            };
        }

        Object scalar(GgufValueType type) {
            return switch (type) {
                case UINT8 -> (long) u8();
                case INT8 -> (long) (byte) u8();
                case UINT16 -> (long) (u8() | u8() << 8);
                case INT16 -> (long) (short) (u8() | u8() << 8);
                case UINT32 -> u32();
                case INT32 -> (long) (int) u32();
                case UINT64, INT64 -> u64();
                case FLOAT32 -> Float.intBitsToFloat((int) u32());
                case FLOAT64 -> Double.longBitsToDouble(u64());
                case BOOL -> {
                    int b = u8();
                    if (b > 1) {
                        throw new GgufFormatException(UNKNOWN_VALUE_TYPE, path, "bool value " + b + " at " + (pos - 1));
                    }
                    yield b == 1;
                }
                case STRING -> string();
                case ARRAY -> throw new IllegalStateException();
            };
        }
    }
}
