package dev.slimq.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test helpers: hand-built safetensors bytes and the committed hostile fixtures. */
final class StFiles {
    private StFiles() {
    }

    /** The committed hostile fixtures; a missing directory fails the test (never a silent skip). */
    static Path hostileDir() {
        Path dir = Path.of("..", "testdata", "hostile");
        assertTrue(Files.isDirectory(dir), "hostile fixtures missing: expected " + dir.toAbsolutePath()
                + " (tests run from the core module directory)");
        return dir;
    }

    static Path hostile(String name) {
        Path p = hostileDir().resolve(name + ".safetensors");
        assertTrue(Files.isRegularFile(p), "hostile fixture missing: " + p.toAbsolutePath());
        return p;
    }

    /** 8-byte little-endian length of {@code header}, the header's UTF-8 bytes, then {@code data}. */
    static byte[] bytes(String header, byte... data) {
        return bytes(header.getBytes(StandardCharsets.UTF_8), data);
    }

    static byte[] bytes(byte[] header, byte... data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data);
        return b.array();
    }

    static Path write(Path dir, String name, byte[] content) {
        Path p = dir.resolve(name);
        try {
            Files.write(p, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** Little-endian bytes of 16-bit codes. */
    static byte[] shorts(int... codes) {
        ByteBuffer b = ByteBuffer.allocate(codes.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int c : codes) {
            b.putShort((short) c);
        }
        return b.array();
    }

    static byte[] ints(int... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putInt(x);
        }
        return b.array();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    static byte[] longs(long... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    static byte[] u8(int... v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (byte) v[i];
        }
        return out;
    }

    /** A one-tensor header naming {@code t} of {@code dtype} and {@code shape} over {@code bytes} bytes. */
    static String single(String dtype, String shape, int bytes) {
        return "{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[0," + bytes + "]}}";
    }
}
