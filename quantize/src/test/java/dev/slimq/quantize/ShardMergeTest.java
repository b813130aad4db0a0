package dev.slimq.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.quantize.method.Granularity;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code quantize --shard K/N} + {@code merge}: byte-identical to one run; mismatched parts refused. */
class ShardMergeTest {
    @TempDir
    static Path shared;

    static Path llama;
    static Path single;
    static List<Path> parts;

    @BeforeAll
    static void generate() {
        llama = shared.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
        QuantizeOptions o = opts(4);
        single = shared.resolve("single");
        QuantizeService.run(llama, single, o, ProgressListener.NONE);
        parts = Stream.of(1, 2, 3).map(k -> {
            Path p = shared.resolve("part" + k);
            QuantizeService.run(llama, p, withThreads(o, k), ProgressListener.NONE, new ShardRun.Spec(k, 3));
            return p;
        }).toList();
    }

    static QuantizeOptions opts(int bits) {
        return new QuantizeOptions(Method.EASYQUANT, bits, 64, false, "compressed-tensors", Optional.empty(), OutlierMode.AUTO, 3.0, Granularity.DEFAULT,
                Optional.empty(), TensorPolicy.defaults(), false, 0, 2, false, false);
    }

    static QuantizeOptions withThreads(QuantizeOptions o, int threads) {
        return new QuantizeOptions(o.method(), o.bits(), o.groupSize(), o.symmetric(), o.format(), o.target(), o.outliers(),
                o.outlierSigma(), o.granularity(), o.scaleDtype(), o.policy(), o.strict(), o.maxShardBytes(), threads,
                o.force(), o.dryRun());
    }

    static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                m.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return m;
    }

    @Test
    void mergeOfThreePartsIsByteIdenticalToOneRun() throws IOException {
        Path out = shared.resolve("merged");
        MergeService.Result r = MergeService.run(out, List.of(parts.get(2), parts.get(0), parts.get(1)), Optional.empty(), false);
        assertEquals(3, r.parts());
        Map<String, byte[]> want = files(single);
        Map<String, byte[]> got = files(out);
        assertEquals(want.keySet(), got.keySet());
        assertTrue(want.containsKey(QuantizeService.REPORT_FILE));
        assertTrue(want.containsKey("config.json"));
        for (String f : want.keySet()) {
            assertArrayEquals(want.get(f), got.get(f), f + " differs");
        }
    }

    @Test
    void shardedOutputWithRtnAndExplicitInputIsByteIdentical(@TempDir Path tmp) throws IOException {
        QuantizeOptions o = new QuantizeOptions(Method.RTN, 4, 32, true, "gptq", Optional.empty(), OutlierMode.AUTO, 3.0, Granularity.DEFAULT,
                Optional.empty(), TensorPolicy.defaults(), false, 40_000, 2, false, false);
        Path one = tmp.resolve("one");
        QuantizeService.run(llama, one, o, ProgressListener.NONE);
        List<Path> ps = Stream.of(1, 2).map(k -> {
            Path p = tmp.resolve("p" + k);
            QuantizeService.run(llama, p, o, ProgressListener.NONE, new ShardRun.Spec(k, 2));
            return p;
        }).toList();
        Path out = tmp.resolve("merged");
        MergeService.run(out, ps, Optional.of(llama), false);
        Map<String, byte[]> want = files(one);
        Map<String, byte[]> got = files(out);
        assertEquals(want.keySet(), got.keySet());
        assertTrue(want.containsKey("model.safetensors.index.json"), want.keySet().toString());
        for (String f : want.keySet()) {
            assertArrayEquals(want.get(f), got.get(f), f + " differs");
        }
    }

    @Test
    void everyPartHoldsSomeTensorsAndNoOtherFiles() throws IOException {
        for (Path p : parts) {
            assertEquals(List.of("model.safetensors", "part.json"), List.copyOf(files(p).keySet()));
        }
    }

    @Test
    void assignmentIsGreedyByBytesTiesToLowestPart() {
        List<TensorInfo> ts = List.of(TensorInfo.planned("b", DType.F32, 10), TensorInfo.planned("a", DType.F32, 10),
                TensorInfo.planned("c", DType.F32, 30), TensorInfo.planned("d", DType.F32, 5));
        Map<String, Integer> a = ShardRun.assign(ts, 2);
        assertEquals(Map.of("c", 1, "a", 2, "b", 2, "d", 2), a);
    }

    @Test
    void shardSpecParsing() {
        assertEquals(new ShardRun.Spec(2, 3), ShardRun.Spec.parse("2/3"));
        for (String bad : List.of("0/3", "4/3", "3", "a/b", "1/0")) {
            SlimqException e = assertThrows(SlimqException.class, () -> ShardRun.Spec.parse(bad));
            assertEquals(Failure.USAGE, e.failure());
        }
    }

    @Test
    void missingPartRefused(@TempDir Path tmp) {
        SlimqException e = assertThrows(SlimqException.class,
                () -> MergeService.run(tmp.resolve("out"), List.of(parts.get(0), parts.get(2)), Optional.empty(), false));
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertTrue(e.getMessage().contains("part [2] of 3 missing"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("out")));
    }

    @Test
    void partGivenTwiceRefused(@TempDir Path tmp) throws IOException {
        Path copy = tmp.resolve("copy-of-1");
        Files.createDirectories(copy);
        for (Path f : List.of(Path.of("model.safetensors"), Path.of("part.json"))) {
            Files.copy(parts.get(0).resolve(f), copy.resolve(f));
        }
        SlimqException e = assertThrows(SlimqException.class,
                () -> MergeService.run(tmp.resolve("out"), List.of(parts.get(0), copy, parts.get(1), parts.get(2)), Optional.empty(), false));
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertTrue(e.getMessage().contains("given twice"), e.getMessage());
    }

    @Test
    void partFromOtherOptionsRefused(@TempDir Path tmp) {
        Path other = tmp.resolve("other2");
        QuantizeService.run(llama, other, opts(8), ProgressListener.NONE, new ShardRun.Spec(2, 3));
        SlimqException e = assertThrows(SlimqException.class,
                () -> MergeService.run(tmp.resolve("out"), List.of(parts.get(0), other, parts.get(2)), Optional.empty(), false));
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertTrue(e.getMessage().contains("different run"), e.getMessage());
    }

    @Test
    void notAPartRefused(@TempDir Path tmp) {
        SlimqException e = assertThrows(SlimqException.class,
                () -> MergeService.run(tmp.resolve("out"), List.of(single), Optional.empty(), false));
        assertEquals(Failure.BAD_INPUT, e.failure());
    }
}
