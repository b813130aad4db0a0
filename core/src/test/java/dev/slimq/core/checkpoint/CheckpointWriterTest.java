package dev.slimq.core.checkpoint;

import static dev.slimq.core.checkpoint.TestCheckpoints.bytesOf;
import static dev.slimq.core.checkpoint.TestCheckpoints.listFiles;
import static dev.slimq.core.checkpoint.TestCheckpoints.listNames;
import static dev.slimq.core.checkpoint.TestCheckpoints.t;
import static dev.slimq.core.checkpoint.TestCheckpoints.values;
import static dev.slimq.core.checkpoint.TestCheckpoints.write;
import static dev.slimq.core.checkpoint.TestCheckpoints.writeString;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointWriterTest {
    @TempDir
    Path dir;

    static final byte[] BLOB = new byte[3000];

    static {
        new Random(42).nextBytes(BLOB);
    }

    /** Input: model.safetensors with five tensors, config, tokenizer and a binary file two levels down. */
    Path input() throws IOException {
        Path in = Files.createDirectory(dir.resolve("in"));
        write(in.resolve("model.safetensors"), List.of(t("model.embed.weight", DType.BF16, 8, 4), t("model.l0.w", DType.F32, 4, 4),
                t("model.l0.b", DType.F32, 4), t("model.l1.w", DType.F16, 4, 4), t("model.norm", DType.F32, 4)));
        writeString(in.resolve("config.json"), "{\"model_type\": \"test\"}\n");
        writeString(in.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"ünï\": \"çødé\"}");
        Files.createDirectories(in.resolve("sub/deeper"));
        Files.write(in.resolve("sub/deeper/blob.bin"), BLOB);
        return in;
    }

    /** Copies every tensor of {@code in} through a writer into {@code out} and commits. */
    static void copy(Checkpoint in, Path out, long maxShard, Map<String, String> putFiles) {
        try (CheckpointWriter w = CheckpointWriter.create(out, in.tensors(), in.metadata(), maxShard, in)) {
            for (TensorInfo t : in.tensors()) {
                try (TensorView v = in.map(t.name()); SafetensorsWriter.TensorSink s = w.open(t.name())) {
                    s.write(v.segment());
                }
            }
            putFiles.forEach(w::putFile);
            w.commit();
        }
    }

    static void writeValues(CheckpointWriter w, List<TensorInfo> tensors) {
        for (TensorInfo t : tensors) {
            float[] v = values(t.name(), t.elementCount());
            try (SafetensorsWriter.TensorSink s = w.open(t.name())) {
                s.writeFloats(v, 0, v.length);
            }
        }
    }

    static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    // ---- the index ----

    @Test
    void indexIsByteExactToPythonJsonDumpsIndent2SortKeys() throws IOException {
        // a 12 bytes, b 8, é.bias 4; limit 12: [a] then [b, é.bias]
        List<TensorInfo> ts = List.of(t("b.weight", DType.F32, 2), t("a.weight", DType.F32, 3), t("é.bias", DType.F32, 1));
        List<TensorInfo> given = List.of(ts.get(1), ts.get(0), ts.get(2));
        Path out = dir.resolve("out");
        try (CheckpointWriter w = CheckpointWriter.create(out, given, Map.of(), 12, null)) {
            writeValues(w, given);
            w.commit();
        }
        // python3 -c 'import json; print(json.dumps(index, indent=2, sort_keys=True))'
        String expected = "{\n"
                + "  \"metadata\": {\n"
                + "    \"total_size\": 24\n"
                + "  },\n"
                + "  \"weight_map\": {\n"
                + "    \"a.weight\": \"model-00001-of-00002.safetensors\",\n"
                + "    \"b.weight\": \"model-00002-of-00002.safetensors\",\n"
                + "    \"\\u00e9.bias\": \"model-00002-of-00002.safetensors\"\n"
                + "  }\n"
                + "}\n";
        byte[] actual = Files.readAllBytes(out.resolve(Checkpoint.INDEX_FILE));
        assertEquals(expected, new String(actual, StandardCharsets.US_ASCII));
        assertArrayEquals(expected.getBytes(StandardCharsets.US_ASCII), actual);
        assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", Checkpoint.INDEX_FILE),
                listFiles(out));
        try (Checkpoint c = Checkpoint.open(out)) {
            assertEquals(24, c.dataBytes());
            assertArrayEquals(values("é.bias", 1), TestCheckpoints.floatsOf(c, "é.bias"));
        }
    }

    @Test
    void indexEscapesAndSortsAsPythonDoes() {
        // Python sorts str by code point (U+FFFD before U+1F600; Java's compareTo says the opposite),
        // escapes non-ASCII and DEL as lower-case \\uXXXX (surrogate pairs above U+FFFF), and control
        // characters with their short escapes
        String odd = "q\"\\\n\u007f";
        List<TensorInfo> ts = List.of(t(odd, DType.U8, 4), t("\uFFFD", DType.U8, 4), t("\uD83D\uDE00", DType.U8, 4));
        String expected = "{\n"
                + "  \"metadata\": {\n"
                + "    \"total_size\": 12\n"
                + "  },\n"
                + "  \"weight_map\": {\n"
                + "    \"q\\\"\\\\\\n\\u007f\": \"model-00001-of-00002.safetensors\",\n"
                + "    \"\\ufffd\": \"model-00001-of-00002.safetensors\",\n"
                + "    \"\\ud83d\\ude00\": \"model-00002-of-00002.safetensors\"\n"
                + "  }\n"
                + "}\n";
        assertEquals(expected, CheckpointWriter.indexJson(ShardPlan.of(ts, 8, Map.of())));
    }

    // ---- round trip and files ----

    @Test
    void shardedOutputReopensWithEqualBytesAndCarriesFilesThrough() throws IOException {
        Path in = input();
        Path out = dir.resolve("out");
        try (Checkpoint c = Checkpoint.open(in)) {
            copy(c, out, 100, Map.of("config.json", "{\"model_type\": \"test\", \"quantized\": true}\n"));
            try (Checkpoint o = Checkpoint.open(out)) {
                assertTrue(o.shards().size() > 1);
                assertEquals(c.tensors().stream().map(TensorInfo::name).sorted().toList(),
                        o.tensors().stream().map(TensorInfo::name).sorted().toList());
                for (TensorInfo t : c.tensors()) {
                    assertEquals(t.dtype(), o.tensor(t.name()).dtype());
                    assertArrayEquals(t.shape(), o.tensor(t.name()).shape());
                    assertArrayEquals(bytesOf(c, t.name()), bytesOf(o, t.name()), t.name());
                }
                assertEquals(List.of(Path.of("config.json"), Path.of("sub/deeper/blob.bin"), Path.of("tokenizer.json")), o.otherFiles());
                assertEquals(Map.of("format", "pt"), o.metadata());
            }
        }
        assertArrayEquals(BLOB, Files.readAllBytes(out.resolve("sub/deeper/blob.bin")));
        assertArrayEquals(Files.readAllBytes(in.resolve("tokenizer.json")), Files.readAllBytes(out.resolve("tokenizer.json")));
        assertEquals("{\"model_type\": \"test\", \"quantized\": true}\n", read(out.resolve("config.json")));
        assertEquals("{\"model_type\": \"test\"}\n", read(in.resolve("config.json")), "the input is never touched");
        assertEquals(List.of("in", "out"), listNames(dir), "no staging or temp names left beside the output");
        assertTrue(listFiles(out).stream().noneMatch(f -> f.startsWith(".") || f.contains("/.")), listFiles(out).toString());
    }

    @Test
    void putFileAddsNewFilesAndRefusesWeightNames() throws IOException {
        Path in = input();
        Path out = dir.resolve("out");
        try (Checkpoint c = Checkpoint.open(in)) {
            copy(c, out, 0, Map.of("extra/recipe.yaml", "bits: 4\n"));
            assertEquals("bits: 4\n", read(out.resolve("extra/recipe.yaml")));
            assertEquals(List.of("config.json", "extra/recipe.yaml", "model.safetensors", "sub/deeper/blob.bin", "tokenizer.json"),
                    listFiles(out));
            try (CheckpointWriter w = CheckpointWriter.create(dir.resolve("out2"), c.tensors(), Map.of(), 100, c)) {
                assertThrows(IllegalArgumentException.class, () -> w.putFile("../escape.txt", "x"));
                assertThrows(IllegalArgumentException.class, () -> w.putFile(dir.resolve("abs.txt"), new byte[1]));
                assertThrows(IllegalArgumentException.class, () -> w.putFile(Checkpoint.INDEX_FILE, "{}"));
                assertThrows(IllegalArgumentException.class, () -> w.putFile(w.shards().shards().getFirst().fileName(), "x"));
            }
        }
        assertFalse(Files.exists(dir.resolve("out2")));
    }

    @Test
    void singleFileOutputWhenTheNameEndsInSafetensors() throws IOException {
        Path in = input();
        Path out = dir.resolve("small.safetensors");
        try (Checkpoint c = Checkpoint.open(in)) {
            copy(c, out, 100, Map.of("config.json", "{}"));
            assertTrue(Files.isRegularFile(out));
            try (Checkpoint o = Checkpoint.open(out)) {
                assertFalse(o.isDirectory());
                assertEquals(c.tensors().size(), o.tensors().size());
                for (TensorInfo t : c.tensors()) {
                    assertArrayEquals(bytesOf(c, t.name()), bytesOf(o, t.name()));
                }
            }
        }
        assertEquals(List.of("in", "small.safetensors"), listNames(dir));
    }

    @Test
    void staleWeightsBesideTheInputIndexAreNotCarriedThrough() throws IOException {
        Path in = Files.createDirectory(dir.resolve("in"));
        write(in.resolve("model-00001-of-00001.safetensors"), List.of(t("w", DType.F32, 2)));
        writeString(in.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\": {\"w\": \"model-00001-of-00001.safetensors\"}}");
        write(in.resolve("model.safetensors"), List.of(t("stale", DType.F32, 2)));
        Path out = dir.resolve("out");
        try (Checkpoint c = Checkpoint.open(in)) {
            copy(c, out, 0, Map.of());
        }
        assertEquals(List.of("model.safetensors"), listFiles(out));
        try (Checkpoint o = Checkpoint.open(out)) {
            assertTrue(o.contains("w"));
            assertFalse(o.contains("stale"));
        }
    }

    // ---- atomicity ----

    @Test
    void closingWithoutCommitLeavesNothing() throws IOException {
        Path in = input();
        try (Checkpoint c = Checkpoint.open(in)) {
            for (String name : List.of("out", "out.safetensors")) {
                try (CheckpointWriter w = CheckpointWriter.create(dir.resolve(name), c.tensors(), Map.of(), 64, c)) {
                    writeValues(w, c.tensors().subList(0, 2));
                    w.putFile("config.json", "{}");
                    assertTrue(listNames(dir).size() > 1, "something is being written");
                }
                assertEquals(List.of("in"), listNames(dir), name);
            }
        }
    }

    @Test
    void commitWithUnwrittenTensorsFailsAndLeavesNothing() throws IOException {
        Path in = input();
        try (Checkpoint c = Checkpoint.open(in)) {
            try (CheckpointWriter w = CheckpointWriter.create(dir.resolve("out"), c.tensors(), Map.of(), 64, c)) {
                writeValues(w, c.tensors().subList(0, c.tensors().size() - 1));
                assertThrows(IllegalStateException.class, w::commit);
            }
        }
        assertEquals(List.of("in"), listNames(dir));
    }

    @Test
    void failedRewriteKeepsTheOldOutputAndACommittedOneReplacesItFully() throws IOException {
        Path in = input();
        Path out = dir.resolve("out");
        try (Checkpoint c = Checkpoint.open(in)) {
            copy(c, out, 64, Map.of("stale.txt", "from the first run"));
            List<String> before = listFiles(out);
            Map<String, byte[]> bytes = new java.util.HashMap<>();
            for (String f : before) {
                bytes.put(f, Files.readAllBytes(out.resolve(f)));
            }
            assertTrue(before.contains("stale.txt") && before.contains(Checkpoint.INDEX_FILE), before.toString());

            // a second run that fails: the first output is exactly as it was
            try (CheckpointWriter w = CheckpointWriter.create(out, c.tensors(), Map.of(), 0, c)) {
                writeValues(w, c.tensors());
            }
            assertEquals(before, listFiles(out));
            for (String f : before) {
                assertArrayEquals(bytes.get(f), Files.readAllBytes(out.resolve(f)), f);
            }
            assertEquals(List.of("in", "out"), listNames(dir));

            // a run that commits replaces it entirely: one file now, no index, no stale file
            try (CheckpointWriter w = CheckpointWriter.create(out, c.tensors(), Map.of(), 0, c)) {
                writeValues(w, c.tensors());
                w.commit();
            }
            assertEquals(List.of("config.json", "model.safetensors", "sub/deeper/blob.bin", "tokenizer.json"), listFiles(out));
            assertEquals(List.of("in", "out"), listNames(dir), "the parked old output is gone too");
            try (Checkpoint o = Checkpoint.open(out)) {
                TensorInfo t = c.tensors().get(1);
                assertArrayEquals(values(t.name(), t.elementCount()), TestCheckpoints.floatsOf(o, t.name()));
            }
        }
    }

    @Test
    void failedSingleFileRewriteKeepsTheOldFile() throws IOException {
        Path in = input();
        Path out = dir.resolve("out.safetensors");
        try (Checkpoint c = Checkpoint.open(in)) {
            copy(c, out, 0, Map.of());
            byte[] old = Files.readAllBytes(out);
            try (CheckpointWriter w = CheckpointWriter.create(out, c.tensors(), Map.of("x", "y"), 0, c)) {
                writeValues(w, c.tensors());
            }
            assertArrayEquals(old, Files.readAllBytes(out));
            assertEquals(List.of("in", "out.safetensors"), listNames(dir));
        }
    }

    // ---- determinism ----

    @Test
    void twoWritesGiveIdenticalBytes() throws IOException {
        Path in = input();
        try (Checkpoint c = Checkpoint.open(in)) {
            for (long max : new long[] {0, 64}) {
                Path a = dir.resolve("a" + max);
                Path b = dir.resolve("b" + max);
                copy(c, a, max, Map.of("config.json", "{}"));
                // the second in reverse tensor order: placement comes from the plan, not the write order
                try (CheckpointWriter w = CheckpointWriter.create(b, c.tensors(), c.metadata(), max, c)) {
                    for (TensorInfo t : c.tensors().reversed()) {
                        try (TensorView v = c.map(t.name()); SafetensorsWriter.TensorSink s = w.open(t.name())) {
                            s.write(v.segment());
                        }
                    }
                    w.putFile("config.json", "{}");
                    w.commit();
                }
                assertEquals(listFiles(a), listFiles(b));
                for (String f : listFiles(a)) {
                    assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
                }
            }
        }
    }
}
