package dev.slimq.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    // ---------------------------------------------------------------- property: write, read back, equal

    record Spec(String name, DType dtype, long[] shape) {
        TensorInfo info() {
            return TensorInfo.planned(name, dtype, shape);
        }

        @Override
        public String toString() {
            return name + ":" + dtype + Arrays.toString(shape);
        }
    }

    @Property(tries = 300, seed = "20240611", shrinking = ShrinkingMode.FULL)
    void writtenFilesReadBackEqual(@ForAll("specs") List<Spec> specs, @ForAll("metadata") Map<String, String> metadata,
                                   @ForAll long seed) throws IOException {
        Path tmp = Files.createTempDirectory("slimq-prop");
        try {
            Random rnd = new Random(seed);
            WritePlan plan = WritePlan.of(specs.stream().map(Spec::info).toList(), metadata);
            Map<String, byte[]> data = new HashMap<>();
            for (TensorInfo t : plan.tensors()) {
                byte[] b = new byte[(int) t.byteCount()];
                rnd.nextBytes(b);
                data.put(t.name(), b);
            }
            List<TensorInfo> order = new ArrayList<>(plan.tensors());
            Collections.shuffle(order, rnd); // any write order gives the same file
            Path target = tmp.resolve("t.safetensors");
            try (SafetensorsWriter w = SafetensorsWriter.create(target, plan)) {
                for (TensorInfo t : order) {
                    w.write(t.name(), ByteBuffer.wrap(data.get(t.name())));
                }
                w.commit();
            }
            assertEquals(plan.fileSize(), Files.size(target));
            try (SafetensorsFile f = SafetensorsFile.open(target)) {
                assertEquals(plan.tensors(), f.tensors());
                Map<String, String> expectedMeta = new HashMap<>(metadata);
                expectedMeta.putIfAbsent("format", "pt");
                assertEquals(expectedMeta, new HashMap<>(f.metadata()));
                assertEquals(List.copyOf(plan.metadata().keySet()), List.copyOf(f.metadata().keySet()));
                assertEquals(plan.header().length, f.header().headerLength());
                assertEquals(0, f.header().headerLength() % 8);
                for (Spec s : specs) {
                    TensorInfo t = f.tensor(s.name());
                    assertEquals(s.dtype(), t.dtype());
                    assertArrayEquals(s.shape(), t.shape());
                    try (TensorView v = f.map(s.name())) {
                        assertArrayEquals(data.get(s.name()), v.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), s.name());
                    }
                }
            }
            byte[] file = Files.readAllBytes(target);
            assertArrayEquals(plan.header(), Arrays.copyOfRange(file, 8, 8 + plan.header().length));
            assertFalse(Files.exists(SafetensorsWriter.tempPathFor(target)));
            assertFalse(Files.exists(SafetensorsWriter.journalPathFor(target)));
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                for (Path p : s.sorted(Collections.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Text with control characters, quotes, backslashes, non-ASCII, line separators and astral characters. */
    static Arbitrary<String> text(int maxLength) {
        Arbitrary<Integer> codePoint = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.integers().between('a', 'z')),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0, 0x1F)),
                net.jqwik.api.Tuple.of(2, Arbitraries.of((int) '"', (int) '\\', (int) '/', 0x7F, 0x2028, 0xFEFF, (int) '.', (int) ' ')),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0x80, 0xD7FF)),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0xE000, 0x10FFFF)));
        return codePoint.list().ofMaxSize(maxLength).map(cps -> {
            StringBuilder sb = new StringBuilder();
            cps.forEach(sb::appendCodePoint);
            return sb.toString();
        });
    }

    @Provide
    Arbitrary<List<Spec>> specs() {
        Arbitrary<long[]> shape = Arbitraries.longs().between(0, 6).list().ofMaxSize(3)
                .map(l -> l.stream().mapToLong(Long::longValue).toArray());
        Arbitrary<Spec> spec = Combinators.combine(text(10).filter(n -> !n.equals("__metadata__")), Arbitraries.of(DType.class), shape)
                .as((name, dtype, dims) -> {
                    long bits = TensorInfo.elementCount(dims) * dtype.bits();
                    if (bits % 8 != 0) { // sub-byte: one more dimension of 4 makes it end on a byte
                        dims = Arrays.copyOf(dims, dims.length + 1);
                        dims[dims.length - 1] = 4;
                    }
                    return new Spec(name, dtype, dims);
                });
        return spec.list().ofMaxSize(8).uniqueElements(Spec::name);
    }

    @Provide
    Arbitrary<Map<String, String>> metadata() {
        return Arbitraries.maps(text(12), text(40)).ofMaxSize(4);
    }

    // ---------------------------------------------------------------- exact bytes

    @Test
    void exactFileForASmallPlan() throws IOException {
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("b", DType.BF16, 1), TensorInfo.planned("a", DType.F32, 2)),
                Map.of("format", "pt"));
        Path target = dir.resolve("small.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, plan)) {
            w.writeFloats("b", new float[] {1.0f});
            w.writeFloats("a", new float[] {1.5f, -2f});
            w.commit();
        }
        String json = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]}}    ";
        ByteBuffer expected = ByteBuffer.allocate(8 + 144 + 10).order(ByteOrder.LITTLE_ENDIAN);
        expected.putLong(144).put(json.getBytes(StandardCharsets.US_ASCII)).putFloat(1.5f).putFloat(-2f).putShort((short) 0x3F80);
        assertArrayEquals(expected.array(), Files.readAllBytes(target));
    }

    // ---------------------------------------------------------------- determinism

    private static WritePlan bigPlan(Random rnd, Map<String, byte[]> data) {
        List<TensorInfo> ts = new ArrayList<>();
        DType[] types = DType.values();
        for (int i = 0; i < 64; i++) {
            DType d = types[rnd.nextInt(types.length)];
            long[] shape = {1 + rnd.nextInt(40), 4 * (1 + rnd.nextInt(8))};
            TensorInfo t = TensorInfo.planned("layers." + i + ".w", d, shape);
            ts.add(t);
            byte[] b = new byte[(int) t.byteCount()];
            rnd.nextBytes(b);
            data.put(t.name(), b);
        }
        Collections.shuffle(ts, rnd);
        return WritePlan.of(ts, Map.of("producer", "slimq-test"));
    }

    private byte[] writeSequential(Path target, WritePlan plan, Map<String, byte[]> data, List<TensorInfo> order) throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.create(target, plan)) {
            for (TensorInfo t : order) {
                w.write(t.name(), ByteBuffer.wrap(data.get(t.name())));
            }
            w.commit();
        }
        return Files.readAllBytes(target);
    }

    @Test
    void sameInputsGiveIdenticalBytesInAnyOrderAndFromManyThreads() throws Exception {
        Map<String, byte[]> data = new HashMap<>();
        WritePlan plan = bigPlan(new Random(11), data);
        byte[] inOrder = writeSequential(dir.resolve("a.safetensors"), plan, data, plan.tensors());
        byte[] again = writeSequential(dir.resolve("a.safetensors"), plan, data, plan.tensors());
        assertArrayEquals(inOrder, again);
        List<TensorInfo> reversed = new ArrayList<>(plan.tensors());
        Collections.reverse(reversed);
        assertArrayEquals(inOrder, writeSequential(dir.resolve("b.safetensors"), plan, data, reversed));
        // A plan built from the tensors in another order is the same plan.
        List<TensorInfo> shuffled = new ArrayList<>(plan.tensors());
        Collections.shuffle(shuffled, new Random(5));
        WritePlan plan2 = WritePlan.of(shuffled, new LinkedHashMap<>(plan.metadata()));
        assertArrayEquals(inOrder, writeSequential(dir.resolve("c.safetensors"), plan2, data, shuffled));

        // Eight threads, each tensor written in pieces through its own sink.
        Path target = dir.resolve("mt.safetensors");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (SafetensorsWriter w = SafetensorsWriter.create(target, plan)) {
            List<Future<?>> futures = new ArrayList<>();
            for (TensorInfo t : shuffled) {
                futures.add(pool.submit(() -> {
                    byte[] b = data.get(t.name());
                    try (SafetensorsWriter.TensorSink s = w.open(t.name())) {
                        for (int off = 0; off < b.length; off += 7) {
                            s.write(ByteBuffer.wrap(b, off, Math.min(7, b.length - off)));
                        }
                        assertEquals(0, s.remaining());
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
            assertEquals(plan.tensors().size(), w.finishedTensors().size());
            w.commit();
        } finally {
            pool.shutdownNow();
        }
        assertArrayEquals(inOrder, Files.readAllBytes(target));
    }

    // ---------------------------------------------------------------- atomicity and misuse

    private static WritePlan twoTensors() {
        return WritePlan.of(List.of(TensorInfo.planned("a", DType.F32, 4), TensorInfo.planned("b", DType.U8, 3)));
    }

    private static WritePlan threeTensors() {
        return WritePlan.of(List.of(TensorInfo.planned("a", DType.F32, 4), TensorInfo.planned("b", DType.U8, 3),
                TensorInfo.planned("c", DType.F64, 1 << 18)));
    }

    private void assertNothingLeft(Path target) {
        assertFalse(Files.exists(target), "target exists");
        assertFalse(Files.exists(SafetensorsWriter.tempPathFor(target)), "temp file left behind");
        assertFalse(Files.exists(SafetensorsWriter.journalPathFor(target)), "journal left behind");
    }

    private List<String> listDir() {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void closeWithoutCommitLeavesNothing() {
        Path target = dir.resolve("out.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, twoTensors())) {
            w.writeFloats("a", new float[] {1, 2, 3, 4});
            assertTrue(Files.exists(SafetensorsWriter.tempPathFor(target)), "writes go to the hidden temp file");
            assertFalse(Files.exists(target));
            assertEquals(List.of("a"), w.finishedTensors());
        }
        assertNothingLeft(target);
        assertEquals(List.of(), listDir());
    }

    @Test
    void exceptionMidTensorLeavesNothing() {
        Path target = dir.resolve("out.safetensors");
        RuntimeException boom = new RuntimeException("boom");
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> {
            try (SafetensorsWriter w = SafetensorsWriter.create(target, twoTensors());
                 SafetensorsWriter.TensorSink s = w.open("a")) {
                s.write(ByteBuffer.wrap(new byte[6]));
                throw boom;
            }
        });
        assertEquals(boom, thrown);
        assertTrue(Arrays.stream(thrown.getSuppressed()).anyMatch(t -> t instanceof IllegalStateException
                && t.getMessage().contains("6 of 16 bytes")), "the incomplete sink is reported as suppressed");
        assertNothingLeft(target);
        assertEquals(List.of(), listDir());
    }

    @Test
    void commitWithAMissingTensorFails() {
        Path target = dir.resolve("out.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, twoTensors())) {
            w.write("b", ByteBuffer.wrap(new byte[3]));
            IllegalStateException e = assertThrows(IllegalStateException.class, w::commit);
            assertTrue(e.getMessage().contains("'a'"), e.getMessage());
            assertFalse(Files.exists(target));
        }
        assertNothingLeft(target);
    }

    @Test
    void tooManyOrTooFewBytesFail() {
        Path target = dir.resolve("out.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, threeTensors())) {
            assertThrows(IllegalStateException.class, () -> w.write("b", ByteBuffer.wrap(new byte[4])), "too many at once");
            try (SafetensorsWriter.TensorSink s = w.open("a")) {
                s.write(ByteBuffer.wrap(new byte[10]));
                assertEquals(6, s.remaining());
                assertThrows(IllegalStateException.class, () -> s.write(ByteBuffer.wrap(new byte[7])), "one byte too many");
                assertEquals(6, s.remaining(), "a refused write writes nothing");
                s.write(ByteBuffer.wrap(new byte[6]));
            }
            IllegalStateException few = assertThrows(IllegalStateException.class, () -> w.write("b", ByteBuffer.wrap(new byte[2])));
            assertTrue(few.getMessage().contains("2 of 3"), few.getMessage());
            assertThrows(IllegalStateException.class, () -> w.writeFloats("a", new float[4]), "a finished tensor cannot be rewritten");
            try (SafetensorsWriter.TensorSink s = w.open("c")) {
                float[] many = new float[(1 << 18) + 1]; // more chunks than the tensor holds: refused up front
                assertThrows(IllegalStateException.class, () -> s.writeFloats(many, 0, many.length));
                assertEquals(8L << 18, s.remaining(), "nothing was written");
                assertThrows(IndexOutOfBoundsException.class, () -> s.writeFloats(new float[2], 1, 2));
                s.writeFloats(many, 0, 1 << 18);
            }
            assertThrows(IllegalStateException.class, w::commit, "b is not finished");
            w.write("b", ByteBuffer.wrap(new byte[] {1, 2, 3})); // an incomplete tensor may be written again from scratch
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(target); TensorView v = f.map("b")) {
            assertEquals(3.0, v.getDouble(2));
        }
    }

    @Test
    void misuseIsRefused() {
        Path target = dir.resolve("out.safetensors");
        SafetensorsWriter w = SafetensorsWriter.create(target, twoTensors());
        SafetensorsWriter.TensorSink s = w.open("a");
        assertThrows(IllegalStateException.class, () -> w.open("a"), "a tensor has one sink at a time");
        assertThrows(IllegalArgumentException.class, () -> w.open("nope"));
        assertThrows(IllegalArgumentException.class, () -> w.writeFloats("b", new float[3]), "U8 cannot take floats");
        assertThrows(IllegalStateException.class, s::close);
        assertThrows(IllegalStateException.class, () -> s.write(ByteBuffer.wrap(new byte[1])), "a closed sink takes no bytes");
        w.close();
        assertThrows(IllegalStateException.class, () -> w.open("b"));
        assertThrows(IllegalStateException.class, w::commit, "nothing to commit after close");
        w.close(); // idempotent
        assertNothingLeft(target);
    }

    @Test
    void anExistingTargetStaysUntouchedUntilCommit() throws IOException {
        Path target = dir.resolve("out.safetensors");
        Files.writeString(target, "precious");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, twoTensors())) {
            w.writeFloats("a", new float[] {1, 2, 3, 4});
            w.write("b", ByteBuffer.wrap(new byte[] {1, 2, 3}));
            assertEquals("precious", Files.readString(target));
        }
        assertEquals("precious", Files.readString(target), "an abandoned write keeps the old file");
        assertFalse(Files.exists(SafetensorsWriter.tempPathFor(target)));

        try (SafetensorsWriter w = SafetensorsWriter.create(target, twoTensors())) {
            w.writeFloats("a", new float[] {1, 2, 3, 4});
            w.write("b", ByteBuffer.wrap(new byte[] {1, 2, 3}));
            assertEquals("precious", Files.readString(target));
            w.commit();
            w.commit(); // idempotent
        }
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertEquals(twoTensors().tensors(), f.tensors());
        }
        assertEquals(List.of("out.safetensors"), listDir());
    }

    @Test
    void aMissingDirectoryIsAnIoFailure() {
        Path target = dir.resolve("no/such/dir/out.safetensors");
        dev.slimq.core.SlimqException e = assertThrows(dev.slimq.core.SlimqException.class,
                () -> SafetensorsWriter.create(target, twoTensors()));
        assertEquals(dev.slimq.core.Failure.IO, e.failure());
    }

    // ---------------------------------------------------------------- data paths

    @Test
    void floatsAreEncodedInThePlannedDtype() {
        float[] values = {0f, 1f, -1.5f, 3.14159f, 1e-3f, 65504f, -448f, 1e6f, Float.NaN};
        List<DType> types = List.of(DType.F32, DType.F64, DType.F16, DType.BF16, DType.F8_E4M3, DType.F8_E5M2,
                DType.F8_E4M3FNUZ, DType.F8_E5M2FNUZ);
        List<TensorInfo> ts = new ArrayList<>();
        for (DType d : types) {
            ts.add(TensorInfo.planned(d.wireName(), d, values.length));
        }
        WritePlan plan = WritePlan.of(ts);
        Path target = dir.resolve("floats.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, plan)) {
            for (DType d : types) {
                w.writeFloats(d.wireName(), values);
            }
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            for (DType d : types) {
                MemorySegment expected = MemorySegment.ofArray(new byte[values.length * d.byteSize()]);
                FloatCodec.encode(d, values, 0, values.length, expected, 0);
                try (TensorView v = f.map(d.wireName())) {
                    assertEquals(-1, v.segment().mismatch(expected), d.wireName());
                    assertEquals(1.0f, v.getFloat(1), d.wireName());
                    assertEquals(-1.5f, v.getFloat(2), d.wireName());
                }
            }
        }
    }

    @Test
    void largeTensorsStreamInChunks() {
        int n = (3 << 20) + 5; // over three 1 MiB chunks
        byte[] bytes = new byte[n];
        new Random(1).nextBytes(bytes);
        float[] floats = new float[(1 << 18) + 3]; // F32: over one chunk of floats
        for (int i = 0; i < floats.length; i++) {
            floats[i] = i * 0.25f;
        }
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("bytes", DType.U8, n), TensorInfo.planned("floats", DType.F32, floats.length)));
        Path target = dir.resolve("big.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, plan)) {
            try (SafetensorsWriter.TensorSink s = w.open("bytes")) {
                s.write(MemorySegment.ofArray(bytes));
            }
            try (SafetensorsWriter.TensorSink s = w.open("floats")) {
                s.writeFloats(floats, 0, 100);
                s.writeFloats(floats, 100, floats.length - 100);
            }
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            try (TensorView v = f.map("bytes")) {
                assertArrayEquals(bytes, v.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
            try (TensorView v = f.map("floats")) {
                assertArrayEquals(floats, SafetensorsReaderTest.readAll(v));
            }
        }
    }

    // ---------------------------------------------------------------- journal

    @Test
    void journalRecordsFinishedTensorsUntilCommit() throws IOException {
        Path target = dir.resolve("j.safetensors");
        Path journal = SafetensorsWriter.journalPathFor(target);
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("tab\there\nnl\\bs\rcr", DType.U8, 2), TensorInfo.planned("z", DType.F32, 1)));
        try (SafetensorsWriter w = SafetensorsWriter.create(target, plan)) {
            w.write("tab\there\nnl\\bs\rcr", ByteBuffer.wrap(new byte[] {1, 2}));
            Map<String, WriteJournal.Entry> entries = WriteJournal.read(journal);
            assertEquals(List.of("tab\there\nnl\\bs\rcr"), List.copyOf(entries.keySet()));
            WriteJournal.Entry e = entries.values().iterator().next();
            TensorInfo t = plan.tensor("tab\there\nnl\\bs\rcr");
            assertEquals(t.begin(), e.begin());
            assertEquals(t.end(), e.end());
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(new byte[] {1, 2});
            assertEquals((int) crc.getValue(), e.crc32c());
            w.writeFloats("z", new float[] {1});
            assertEquals(2, WriteJournal.read(journal).size());
            w.commit();
        }
        assertFalse(Files.exists(journal), "a committed file needs no journal");
        assertTrue(WriteJournal.read(journal).isEmpty());
    }

    @Test
    void journalIgnoresTornAndMalformedLines() throws IOException {
        Path journal = dir.resolve("torn.journal");
        byte[] content = ("a\t0\t4\tdeadbeef\n"
                + "bad line\n"
                + "b\tx\t8\t1\n"
                + "c\t4\t8\t12345678\n"
                + "d\t8\t12\tcafe").getBytes(StandardCharsets.UTF_8); // torn: no newline, checksum cut short
        byte[] withBadUtf8 = Arrays.copyOf(content, content.length + 2);
        withBadUtf8[content.length] = (byte) 0xE2; // a multi-byte character cut by the crash
        withBadUtf8[content.length + 1] = (byte) 0x82;
        for (byte[] c : List.of(content, withBadUtf8)) {
            Files.write(journal, c);
            Map<String, WriteJournal.Entry> entries = WriteJournal.read(journal);
            assertEquals(List.of("a", "c"), List.copyOf(entries.keySet()));
            assertEquals(new WriteJournal.Entry("a", 0, 4, 0xdeadbeef), entries.get("a"));
            assertEquals(new WriteJournal.Entry("c", 4, 8, 0x12345678), entries.get("c"));
        }
    }
}
