package dev.slimq.convert.gguf;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One typed metadata value. Scalars hold a {@link Long} (every integer type, UINT64 as its bit
 * pattern), {@link Float}, {@link Double}, {@link Boolean} or {@link String}; arrays hold a list of
 * such scalars (or of {@code GgufValue} for nested arrays) with their element type.
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {
    public GgufValue {
        Objects.requireNonNull(type);
        Objects.requireNonNull(value);
        if ((type == GgufValueType.ARRAY) != (elementType != null)) {
            throw new IllegalArgumentException("an element type is given exactly for arrays");
        }
    }

    public static GgufValue u32(long v) {
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue i32(long v) {
        return new GgufValue(GgufValueType.INT32, null, v);
    }

    public static GgufValue u64(long v) {
        return new GgufValue(GgufValueType.UINT64, null, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue string(String v) {
        return new GgufValue(GgufValueType.STRING, null, v);
    }

    public static GgufValue strings(List<String> v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, List.copyOf(v));
    }

    public static GgufValue i32s(int[] v) {
        List<Object> l = new ArrayList<>(v.length);
        for (int x : v) {
            l.add((long) x);
        }
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, l);
    }

    public static GgufValue f32s(float[] v) {
        List<Object> l = new ArrayList<>(v.length);
        for (float x : v) {
            l.add(x);
        }
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, l);
    }

    /** A UINT8 array (gguf-py's {@code add_array} of {@code bytes}, e.g. a precompiled charsmap). */
    public static GgufValue u8s(byte[] v) {
        List<Object> l = new ArrayList<>(v.length);
        for (byte x : v) {
            l.add((long) (x & 0xFF));
        }
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT8, l);
    }

    /** The value as a long (integer types only). */
    public long asLong() {
        if (value instanceof Long l) {
            return l;
        }
        throw new IllegalStateException("not an integer: " + type);
    }

    /** The value as a double (integer and float types). */
    public double asDouble() {
        return switch (value) {
            case Long l -> l;
            case Float f -> f;
            case Double d -> d;
            default -> throw new IllegalStateException("not a number: " + type);
        };
    }

    public String asString() {
        if (value instanceof String s) {
            return s;
        }
        throw new IllegalStateException("not a string: " + type);
    }

    public boolean asBool() {
        if (value instanceof Boolean b) {
            return b;
        }
        throw new IllegalStateException("not a bool: " + type);
    }

    /** The elements of an array value. */
    public List<?> asList() {
        if (value instanceof List<?> l) {
            return l;
        }
        throw new IllegalStateException("not an array: " + type);
    }
}
