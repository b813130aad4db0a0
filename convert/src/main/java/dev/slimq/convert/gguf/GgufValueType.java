package dev.slimq.convert.gguf;

import java.util.Optional;

/**
 * Types of GGUF metadata values, by their wire id (ggml {@code docs/gguf.md}, {@code enum gguf_type}):
 * BOOL is one byte 0/1; STRING is a u64 length and UTF-8 bytes without NUL; ARRAY is a u32 element type,
 * a u64 count and the elements.
 */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    STRING(8, -1), ARRAY(9, -1), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private final int id;
    private final int size;

    GgufValueType(int id, int size) {
        this.id = id;
        this.size = size;
    }

    public int id() {
        return id;
    }

    /** Fixed byte size, or -1 for STRING and ARRAY. */
    public int size() {
        return size;
    }

    public static Optional<GgufValueType> fromId(long id) {
        for (GgufValueType t : values()) {
            if (t.id == id) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
