package dev.slimq.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SafetensorsWriter#resume}: what an interrupted writer left is kept only when its bytes still
 * match the journal, and the finished file is the spec layout of the plan either way.
 */
class SafetensorsWriterResumeTest {
    @TempDir
    Path dir;

    private static final Map<String, byte[]> DATA = new LinkedHashMap<>();

    static {
        for (String name : List.of("a", "b", "c")) {
            ByteBuffer b = ByteBuffer.allocate(4 * 64).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 64; i++) {
                b.putFloat(name.charAt(0) * 1000 + i);
            }
            DATA.put(name, b.array());
        }
    }

    private static WritePlan plan() {
        return WritePlan.of(List.of(TensorInfo.planned("a", DType.F32, 64), TensorInfo.planned("b", DType.F32, 8, 8),
                TensorInfo.planned("c", DType.F32, 64)));
    }

    /** The file by the spec: u64 LE header length, the header, each tensor at its planned offset. */
    private static byte[] expected(WritePlan plan) {
        byte[] header = plan.header();
        ByteBuffer b = ByteBuffer.allocate((int) (8 + header.length + plan.dataLength())).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        for (TensorInfo t : plan.tensors()) {
            b.put(8 + header.length + (int) t.begin(), DATA.get(t.name()));
        }
        return b.array();
    }

    private static void write(SafetensorsWriter w, String name) {
        w.write(name, ByteBuffer.wrap(DATA.get(name)));
    }

    /** Writes some tensors and then stops as a SIGKILL would: no close, no commit. */
    private static void interrupted(Path target, String... names) {
        SafetensorsWriter w = SafetensorsWriter.resume(target, plan());
        for (String n : names) {
            write(w, n);
        }
    }

    @Test
    void keepsJournaledTensorsAndFinishesTheSameBytes() throws IOException {
        Path target = dir.resolve("m.safetensors");
        interrupted(target, "b", "a");
        assertFalse(Files.exists(target));
        try (SafetensorsWriter w = SafetensorsWriter.resume(target, plan())) {
            assertEquals(Set.of("a", "b"), new HashSet<>(w.resumedTensors()));
            assertTrue(w.isFinished("a") && w.isFinished("b") && !w.isFinished("c"));
            write(w, "c");
            w.commit();
        }
        assertArrayEquals(expected(plan()), Files.readAllBytes(target));
        assertFalse(Files.exists(SafetensorsWriter.journalPathFor(target)), "journal removed on commit");
    }

    @Test
    void aDamagedTensorIsWrittenAgainNotTrusted() throws IOException {
        Path target = dir.resolve("m.safetensors");
        interrupted(target, "a", "b");
        WritePlan plan = plan();
        long at = 8 + plan.header().length + plan.tensor("a").begin() + 17;
        try (FileChannel ch = FileChannel.open(SafetensorsWriter.tempPathFor(target), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x01)).rewind();
            ch.write(one, at);
        }
        try (SafetensorsWriter w = SafetensorsWriter.resume(target, plan)) {
            assertEquals(List.of("b"), w.resumedTensors(), "a's bytes no longer match its CRC32C");
            assertFalse(w.isFinished("a"));
            write(w, "a");
            write(w, "c");
            w.commit();
        }
        assertArrayEquals(expected(plan), Files.readAllBytes(target));
    }

    @Test
    void aKeptTensorMayBeWrittenAgainOnceButAFreshOneOnlyOnce() throws IOException {
        Path target = dir.resolve("m.safetensors");
        interrupted(target, "a");
        try (SafetensorsWriter w = SafetensorsWriter.resume(target, plan())) {
            write(w, "a"); // the caller chose to redo it: allowed, the kept copy is replaced
            assertThrows(IllegalStateException.class, () -> write(w, "a"));
            write(w, "b");
            write(w, "c");
            w.commit();
        }
        assertArrayEquals(expected(plan()), Files.readAllBytes(target));
    }

    @Test
    void anotherPlanStartsFresh() throws IOException {
        Path target = dir.resolve("m.safetensors");
        interrupted(target, "a", "b");
        WritePlan other = WritePlan.of(List.of(TensorInfo.planned("a", DType.F32, 64), TensorInfo.planned("c", DType.F32, 64)));
        try (SafetensorsWriter w = SafetensorsWriter.resume(target, other)) {
            assertTrue(w.resumedTensors().isEmpty(), "the header differs: nothing is kept");
            write(w, "a");
            write(w, "c");
            w.commit();
        }
        byte[] header = other.header();
        ByteBuffer b = ByteBuffer.allocate((int) (8 + header.length + other.dataLength())).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(DATA.get("a")).put(DATA.get("c"));
        assertArrayEquals(b.array(), Files.readAllBytes(target));
    }

    @Test
    void aTornJournalLineIsIgnored() throws IOException {
        Path target = dir.resolve("m.safetensors");
        interrupted(target, "a", "b");
        Path journal = SafetensorsWriter.journalPathFor(target);
        byte[] j = Files.readAllBytes(journal);
        Files.write(journal, java.util.Arrays.copyOf(j, j.length - 3)); // b's line cut mid-checksum
        try (SafetensorsWriter w = SafetensorsWriter.resume(target, plan())) {
            assertEquals(List.of("a"), w.resumedTensors());
        }
    }
}
