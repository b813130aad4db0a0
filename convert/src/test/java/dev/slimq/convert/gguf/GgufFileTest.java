package dev.slimq.convert.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.convert.gguf.GgufFormatException.Reason;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufFileTest {
    @TempDir
    Path dir;

    @Test
    void writeReadEveryType() throws Exception {
        Random r = new Random(1);
        GgmlType[] types = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1};
        List<GgufWriter.Planned> plan = new ArrayList<>();
        List<float[]> values = new ArrayList<>();
        for (GgmlType t : types) {
            plan.add(new GgufWriter.Planned("w." + t.cliName(), new long[] {3, 64}, t));
            float[] x = new float[3 * 64];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            values.add(x);
        }
        plan.add(new GgufWriter.Planned("odd", new long[] {7}, GgmlType.F32)); // 28 bytes: padded to 32
        values.add(new float[] {1, 2, 3, 4, 5, 6, 7});
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string("llama"));
        kv.put("x.u32", GgufValue.u32(7));
        kv.put("x.f32", GgufValue.f32(0.25f));
        kv.put("x.bool", GgufValue.bool(true));
        kv.put("x.strs", GgufValue.strings(List.of("a", "ü", "")));
        kv.put("x.i32s", GgufValue.i32s(new int[] {-1, 2}));
        Path f = dir.resolve("m.gguf");
        List<byte[]> encoded = new ArrayList<>();
        try (GgufWriter w = GgufWriter.create(f, kv, plan)) {
            for (int i = 0; i < plan.size(); i++) {
                GgmlType t = plan.get(i).type();
                float[] x = values.get(i);
                byte[] b = new byte[(int) t.byteSize(x.length)];
                GgmlBlocks.encode(t, x, 0, x.length, MemorySegment.ofArray(b), 0);
                encoded.add(b);
                w.write(plan.get(i).name(), ByteBuffer.wrap(b));
            }
            w.commit();
        }
        assertEquals(0, Files.size(f) % 32, "the last tensor is padded too");
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(3, g.version());
            assertEquals(7L, g.get("x.u32").orElseThrow().asLong());
            assertEquals(0.25, g.get("x.f32").orElseThrow().asDouble());
            assertTrue(g.get("x.bool").orElseThrow().asBool());
            assertEquals(List.of("a", "ü", ""), g.get("x.strs").orElseThrow().asList());
            assertEquals(List.of(-1L, 2L), g.get("x.i32s").orElseThrow().asList());
            assertEquals(32L, g.get("general.alignment").orElseThrow().asLong());
            for (int i = 0; i < plan.size(); i++) {
                GgufTensorInfo t = g.tensors().get(i);
                assertEquals(plan.get(i).name(), t.name());
                assertEquals(0, t.offset() % 32);
                assertArrayEquals(GgufTensorInfo.dimsOf(plan.get(i).shape()), t.dims());
                assertArrayEquals(encoded.get(i), g.data(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                float[] y = g.readFloats(t);
                float[] expect = new float[y.length];
                GgmlBlocks.decode(t.type(), MemorySegment.ofArray(encoded.get(i)), 0, expect, 0, expect.length);
                assertArrayEquals(expect, y);
                if (t.type() == GgmlType.F32) {
                    assertArrayEquals(values.get(i), y);
                }
            }
            assertEquals(64L, g.tensors().get(0).dims()[0], "dims reversed: innermost first");
        }
    }

    @Test
    void failedWriteLeavesNothing() {
        Path f = dir.resolve("x.gguf");
        try (GgufWriter w = GgufWriter.create(f, Map.of(), List.of(new GgufWriter.Planned("a", new long[] {32}, GgmlType.F32)))) {
            assertThrows(IllegalStateException.class, w::commit);
        }
        assertTrue(Files.notExists(f));
        assertTrue(Files.notExists(dir.resolve(".x.gguf.partial")));
    }

    // ------------------------------------------------------------------ hostile files

    /** Raw little-endian builder for hand-made headers. */
    static final class Raw {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Raw u32(long v) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
            return this;
        }

        Raw u64(long v) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        Raw str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            out.writeBytes(b);
            return this;
        }

        Raw head(long tensors, long kvs) {
            out.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
            return u32(3).u64(tensors).u64(kvs);
        }

        Raw tensor(String name, long type, long offset, long... dims) {
            str(name).u32(dims.length);
            for (long d : dims) {
                u64(d);
            }
            return u32(type).u64(offset);
        }

        /** Pads to 32 and appends {@code n} data bytes. */
        byte[] data(int n) {
            while (out.size() % 32 != 0) {
                out.write(0);
            }
            out.writeBytes(new byte[n]);
            return out.toByteArray();
        }
    }

    private static Reason rejected(byte[] b) {
        return assertThrows(GgufFormatException.class, () -> GgufFile.of(Path.of("hostile.gguf"), MemorySegment.ofArray(b))).reason();
    }

    @Test
    void validMinimalFileIsAccepted() {
        byte[] b = new Raw().head(1, 1).str("k").u32(4).u32(1).tensor("t", 0, 0, 8).data(32);
        assertEquals(1, GgufFile.of(Path.of("ok.gguf"), MemorySegment.ofArray(b)).tensors().size());
    }

    @Test
    void hostileFilesAreRejectedForTheirReason() {
        assertEquals(Reason.BAD_MAGIC, rejected("GGUX\3\0\0\0".getBytes(StandardCharsets.ISO_8859_1)));
        assertEquals(Reason.BAD_MAGIC, rejected(new byte[2]));
        byte[] v4 = new Raw().head(0, 0).data(0);
        v4[4] = 4;
        assertEquals(Reason.UNSUPPORTED_VERSION, rejected(v4));
        assertEquals(Reason.COUNT_BEYOND_FILE, rejected(new Raw().head(1L << 40, 0).data(0)));
        assertEquals(Reason.COUNT_BEYOND_FILE, rejected(new Raw().head(0, -1).data(0)));
        assertEquals(Reason.STRING_BEYOND_FILE, rejected(new Raw().head(0, 1).u64(1L << 40).data(64)));
        assertEquals(Reason.STRING_BEYOND_FILE, rejected(new Raw().head(0, 1).u64(-8).data(64)));
        assertEquals(Reason.UNKNOWN_VALUE_TYPE, rejected(new Raw().head(0, 1).str("k").u32(13).u32(0).data(0)));
        assertEquals(Reason.COUNT_BEYOND_FILE, rejected(new Raw().head(0, 1).str("k").u32(9).u32(8).u64(1L << 50).data(0)));
        assertEquals(Reason.TRUNCATED, rejected(new Raw().head(0, 1).str("k").u32(10).out.toByteArray()));
        assertEquals(Reason.UNKNOWN_TENSOR_TYPE, rejected(new Raw().head(1, 0).tensor("t", 99, 0, 32).data(128)));
        assertEquals(Reason.TOO_MANY_DIMS, rejected(new Raw().head(1, 0).tensor("t", 0, 0, 1, 1, 1, 1, 1).data(32)));
        assertEquals(Reason.NOT_BLOCK_MULTIPLE, rejected(new Raw().head(1, 0).tensor("t", 8, 0, 16).data(64)));
        assertEquals(Reason.OFFSET_MISALIGNED, rejected(new Raw().head(1, 0).tensor("t", 0, 8, 8).data(64)));
        assertEquals(Reason.OFFSET_OUT_OF_RANGE, rejected(new Raw().head(1, 0).tensor("t", 0, 1024, 8).data(64)));
        assertEquals(Reason.OFFSET_OUT_OF_RANGE, rejected(new Raw().head(1, 0).tensor("t", 0, 0, 1L << 62, 1L << 62).data(64)));
        assertEquals(Reason.OFFSET_OUT_OF_RANGE, rejected(new Raw().head(1, 0).tensor("t", 0, 0, 64).data(32)));
        assertEquals(Reason.BAD_DIM, rejected(new Raw().head(1, 0).tensor("t", 0, 0, 0).data(32)));
        assertEquals(Reason.OVERLAP, rejected(new Raw().head(2, 0).tensor("a", 0, 0, 16).tensor("b", 0, 32, 16).data(96)));
        assertEquals(Reason.DUPLICATE_TENSOR, rejected(new Raw().head(2, 0).tensor("a", 0, 0, 8).tensor("a", 0, 32, 8).data(64)));
        assertEquals(Reason.DUPLICATE_KEY, rejected(new Raw().head(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(1).data(0)));
        assertEquals(Reason.BAD_ALIGNMENT, rejected(new Raw().head(0, 1).str("general.alignment").u32(4).u32(24).data(0)));
        assertEquals(Reason.NAME_TOO_LONG, rejected(new Raw().head(1, 0).tensor("n".repeat(64), 0, 0, 8).data(32)));
    }

    @Test
    void randomBytesOnlyEverRaiseTheFormatException() {
        Random r = new Random(3);
        byte[] good = new Raw().head(2, 1).str("k").u32(8).str("v").tensor("a", 0, 0, 8).tensor("b", 2, 32, 32).data(64);
        for (int i = 0; i < 2000; i++) {
            byte[] b = good.clone();
            for (int k = 0; k < 3; k++) {
                b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            }
            byte[] cut = java.util.Arrays.copyOf(b, r.nextInt(b.length + 1));
            try {
                GgufFile.of(Path.of("fuzz.gguf"), MemorySegment.ofArray(cut));
            } catch (GgufFormatException expected) {
                // the only failure allowed
            }
        }
    }
}
