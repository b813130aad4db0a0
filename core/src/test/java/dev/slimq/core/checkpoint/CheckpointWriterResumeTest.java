package dev.slimq.core.checkpoint;

import static dev.slimq.core.checkpoint.TestCheckpoints.t;
import static dev.slimq.core.checkpoint.TestCheckpoints.write;
import static dev.slimq.core.checkpoint.TestCheckpoints.writeString;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fingerprinted {@link CheckpointWriter}: sidecar with the output, resume only under the same fingerprint. */
class CheckpointWriterResumeTest {
    @TempDir
    Path dir;

    Path input() throws IOException {
        Path in = Files.createDirectory(dir.resolve("in"));
        write(in.resolve("model.safetensors"), List.of(t("model.embed.weight", DType.BF16, 8, 4), t("model.l0.w", DType.F32, 4, 4),
                t("model.l0.b", DType.F32, 4), t("model.l1.w", DType.F16, 4, 4), t("model.norm", DType.F32, 4)));
        writeString(in.resolve("config.json"), "{\"model_type\": \"test\"}\n");
        return in;
    }

    private static Fingerprint fp(Path in, String bits) {
        return Fingerprint.of("test", "1", Map.of("--bits", bits), List.of(in), false);
    }

    private static void copyTensor(Checkpoint in, CheckpointWriter w, String name) {
        try (TensorView v = in.map(name); SafetensorsWriter.TensorSink s = w.open(name)) {
            s.write(v.segment());
        }
    }

    /** Writes two tensors and a note, then stops as a SIGKILL would (no close). */
    private static void interrupted(Checkpoint in, Path out, Fingerprint fp, long maxShard) {
        CheckpointWriter w = CheckpointWriter.create(out, in.tensors(), in.metadata(), maxShard, in, fp);
        copyTensor(in, w, "model.l0.w");
        copyTensor(in, w, "model.norm");
        w.note("done", "model.l0.w model.norm");
    }

    private static void finish(Checkpoint in, CheckpointWriter w) {
        for (TensorInfo t : in.tensors()) {
            if (!w.isFinished(t.name())) {
                copyTensor(in, w, t.name());
            }
        }
        w.commit();
    }

    private static byte[] bytes(Path p) throws IOException {
        return Files.readAllBytes(p);
    }

    @Test
    void resumesUnderTheSameFingerprintWithTheSameBytes() throws IOException {
        Path inDir = input();
        Path plain = dir.resolve("plain");
        Path out = dir.resolve("out");
        try (Checkpoint in = Checkpoint.open(inDir)) {
            CheckpointWriterTest.copy(in, plain, 200, Map.of());
            Fingerprint fp = fp(inDir, "4");
            interrupted(in, out, fp, 200);
            assertFalse(Files.exists(out));
            assertEquals(Map.of("done", "model.l0.w model.norm"), CheckpointWriter.previousNotes(out, fp));
            assertEquals(Map.of(), CheckpointWriter.previousNotes(out, fp(inDir, "8")), "notes of another run are not ours");
            try (CheckpointWriter w = CheckpointWriter.create(out, in.tensors(), in.metadata(), 200, in, fp)) {
                assertEquals(2, w.resumedTensorCount());
                assertTrue(w.isFinished("model.l0.w") && w.isFinished("model.norm") && !w.isFinished("model.l0.b"));
                finish(in, w);
            }
            assertTrue(fp.isRecordedAt(out, Fingerprint.OUTPUT), "the sidecar came in with the output");
        }
        List<String> names;
        try (Stream<Path> s = Files.list(plain)) {
            names = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        for (String n : names) {
            assertArrayEquals(bytes(plain.resolve(n)), bytes(out.resolve(n)), n);
        }
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(names.size() + 1, s.count(), "the only extra file is the fingerprint sidecar");
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".out")), "no leftovers");
        }
    }

    @Test
    void anotherFingerprintDiscardsTheLeftovers() throws IOException {
        Path inDir = input();
        Path out = dir.resolve("out.safetensors");
        try (Checkpoint in = Checkpoint.open(inDir)) {
            interrupted(in, out, fp(inDir, "4"), 0);
            Fingerprint other = fp(inDir, "8");
            try (CheckpointWriter w = CheckpointWriter.create(out, in.tensors(), in.metadata(), 0, in, other)) {
                assertEquals(0, w.resumedTensorCount());
                assertTrue(w.previousNotes().isEmpty());
                finish(in, w);
            }
            assertTrue(other.isRecordedAt(out, Fingerprint.OUTPUT));
            assertFalse(fp(inDir, "4").isRecordedAt(out, Fingerprint.OUTPUT));
            assertTrue(Files.exists(dir.resolve(".out.safetensors.slimq-fingerprint.json")), "beside a single-file output");
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(".out.safetensors.slimq-fingerprint.json", "in", "out.safetensors"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(), "temp, journal and notes are gone");
        }
    }

    @Test
    void aFailedResumableRunStillCleansUp() throws IOException {
        Path inDir = input();
        Path out = dir.resolve("out");
        try (Checkpoint in = Checkpoint.open(inDir);
             CheckpointWriter w = CheckpointWriter.create(out, in.tensors(), in.metadata(), 0, in, fp(inDir, "4"))) {
            copyTensor(in, w, "model.l0.w");
        } // closed without commit: the failure path
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("in"), s.map(p -> p.getFileName().toString()).toList());
        }
    }
}
