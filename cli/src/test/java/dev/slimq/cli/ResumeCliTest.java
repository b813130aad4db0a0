package dev.slimq.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incremental and resumable runs end to end: {@code up to date} skips, what makes a run redo its
 * work, and interrupted runs (SIGKILL and SIGTERM of a real child JVM) resumed to the same bytes.
 */
class ResumeCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] QUANT = {"--format", "slimq", "--group-size", "32"};

    @TempDir
    static Path shared;

    static Path llama;

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = RunCommand.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static Run quantize(Path in, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("quantize", in.toString(), out.toString()));
        a.addAll(List.of(QUANT));
        a.addAll(List.of(extra));
        return run(a.toArray(String[]::new));
    }

    @BeforeAll
    static void checkpoints() {
        llama = shared.resolve("tiny-llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
    }

    /** A private copy of the model, for tests that touch or change their input. */
    private Path modelCopy() throws IOException {
        Path copy = tmp.resolve("model");
        Files.createDirectories(copy);
        try (Stream<Path> s = Files.list(llama)) {
            for (Path f : s.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        return copy;
    }

    private static Object identity(Path p) throws IOException {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
        return List.of(a.fileKey(), a.lastModifiedTime());
    }

    private static boolean upToDate(Run r, Path out) {
        return r.err().contains("up to date: " + out);
    }

    @Test
    void aRerunWithTheSameFingerprintWritesNothing() throws IOException {
        Path q = tmp.resolve("q");
        Run first = quantize(llama, q, "-q");
        assertEquals(0, first.code(), first.err());
        assertFalse(upToDate(first, q));
        assertTrue(Files.isRegularFile(q.resolve(".slimq-fingerprint.json")), "the sidecar is inside the output");
        Object before = identity(q.resolve("model.safetensors"));

        Run again = quantize(llama, q, "--threads", "1");
        assertEquals(0, again.code(), again.err());
        assertEquals("up to date: " + q, again.err().strip());
        assertEquals("", again.out(), "no results: nothing was done");
        assertEquals(before, identity(q.resolve("model.safetensors")), "the output was not rewritten");
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("q"), s.map(p -> p.getFileName().toString()).toList(), "no temp files either");
        }

        Run json = quantize(llama, q, "--json");
        assertEquals(0, json.code(), json.err());
        JsonNode j = JSON.readTree(json.out());
        assertTrue(j.get("up_to_date").asBoolean());
        assertEquals(1, j.get("schema_version").asInt());

        Run forced = quantize(llama, q, "--force", "-q");
        assertEquals(0, forced.code(), forced.err());
        assertFalse(upToDate(forced, q));
        assertNotEquals(before, identity(q.resolve("model.safetensors")), "--force redoes and replaces it");
    }

    @Test
    void aChangedOptionRedoesAndReplacesAnEarlierResult() throws IOException {
        Path q = tmp.resolve("q.safetensors");
        assertEquals(0, quantize(llama, q, "-q").code());
        assertTrue(Files.isRegularFile(tmp.resolve(".q.safetensors.slimq-fingerprint.json")), "the sidecar is beside a file");
        assertTrue(upToDate(quantize(llama, q, "-q"), q));
        byte[] w4 = Files.readAllBytes(q);

        Run bits8 = quantize(llama, q, "--bits", "8", "-q");
        assertEquals(0, bits8.code(), "an earlier slimq result is replaced without --force: " + bits8.err());
        assertFalse(upToDate(bits8, q));
        assertFalse(java.util.Arrays.equals(w4, Files.readAllBytes(q)), "8-bit weights replaced the 4-bit ones");
        assertTrue(upToDate(quantize(llama, q, "--bits", "8", "-q"), q));
        assertFalse(upToDate(quantize(llama, q, "-q"), q), "back to 4 bits: redone again");
        assertArrayEquals(w4, Files.readAllBytes(q));
    }

    @Test
    void aTouchedInputOrAnotherVersionRedoes() throws IOException {
        Path model = modelCopy();
        Path q = tmp.resolve("q");
        assertEquals(0, quantize(model, q, "-q").code());
        assertTrue(upToDate(quantize(model, q, "-q"), q));

        Path config = model.resolve("config.json");
        Files.setLastModifiedTime(config, FileTime.fromMillis(Files.getLastModifiedTime(config).toMillis() + 5000));
        Run touched = quantize(model, q, "-q");
        assertEquals(0, touched.code(), touched.err());
        assertFalse(upToDate(touched, q), "a touched input is redone");
        assertTrue(upToDate(quantize(model, q, "-q"), q));

        // The output of another slimq version: same inputs and options, but not trusted.
        Path sidecar = q.resolve(".slimq-fingerprint.json");
        ObjectNode fp = (ObjectNode) JSON.readTree(sidecar.toFile());
        fp.put("slimq_version", "0.0.1-older");
        Files.writeString(sidecar, fp.toString());
        Run older = quantize(model, q, "-q");
        assertEquals(0, older.code(), older.err());
        assertFalse(upToDate(older, q));
        assertTrue(upToDate(quantize(model, q, "-q"), q));
    }

    @Test
    void verifyInputsSeesChangedBytesBehindTheSameTime() throws IOException {
        Path model = modelCopy();
        Path q = tmp.resolve("q");
        assertEquals(0, quantize(model, q, "--verify-inputs", "-q").code());
        assertTrue(upToDate(quantize(model, q, "--verify-inputs", "-q"), q));
        byte[] ref = Files.readAllBytes(q.resolve("model.safetensors"));

        Path weights = model.resolve("model.safetensors");
        FileTime t = Files.getLastModifiedTime(weights);
        byte[] b = Files.readAllBytes(weights);
        b[b.length - 2] ^= 0x10; // a weight byte near the end: same size, same header
        Files.write(weights, b);
        Files.setLastModifiedTime(weights, t);
        Run verified = quantize(model, q, "--verify-inputs", "-q");
        assertEquals(0, verified.code(), verified.err());
        assertFalse(upToDate(verified, q), "hashing finds the changed byte");
        assertTrue(upToDate(quantize(model, q, "--verify-inputs", "-q"), q));
        assertEquals(ref.length, Files.readAllBytes(q.resolve("model.safetensors")).length);
    }

    @Test
    void anOutputSlimqDidNotRecordStillNeedsForce() throws IOException {
        Path q = Files.createDirectories(tmp.resolve("q"));
        Files.writeString(q.resolve("notes.txt"), "mine");
        Run r = quantize(llama, q, "-q");
        assertEquals(ExitCode.USAGE.code(), r.code());
        assertTrue(r.err().contains("already exists"), r.err());
        assertEquals("mine", Files.readString(q.resolve("notes.txt")));
    }

    @Test
    void dequantizeAndMergeAreIncrementalToo() throws IOException {
        Path q = tmp.resolve("q");
        assertEquals(0, quantize(llama, q, "-q").code());
        Path d = tmp.resolve("d");
        assertEquals(0, run("dequantize", q.toString(), d.toString()).code());
        Object deq = identity(d.resolve("model.safetensors"));
        assertTrue(upToDate(run("dequantize", q.toString(), d.toString()), d));
        Run f16 = run("dequantize", q.toString(), d.toString(), "--dtype", "F16");
        assertEquals(0, f16.code(), f16.err());
        assertFalse(upToDate(f16, d), "another dtype: redone, replacing the earlier result");
        assertNotEquals(deq, identity(d.resolve("model.safetensors")));

        Path p1 = tmp.resolve("p1");
        Path p2 = tmp.resolve("p2");
        assertEquals(0, quantize(llama, p1, "--shard", "1/2", "-q").code());
        assertEquals(0, quantize(llama, p2, "--shard", "2/2", "-q").code());
        assertTrue(upToDate(quantize(llama, p2, "--shard", "2/2", "-q"), p2));
        Path m = tmp.resolve("m");
        assertEquals(0, run("merge", m.toString(), p1.toString(), p2.toString()).code());
        assertArrayEquals(Files.readAllBytes(q.resolve("model.safetensors")), Files.readAllBytes(m.resolve("model.safetensors")),
                "the merge of the parts is the single run");
        Object merged = identity(m.resolve("model.safetensors"));
        assertTrue(upToDate(run("merge", m.toString(), p1.toString(), p2.toString()), m));
        assertEquals(merged, identity(m.resolve("model.safetensors")));
        Path partJson = p2.resolve("part.json");
        Files.setLastModifiedTime(partJson, FileTime.fromMillis(Files.getLastModifiedTime(partJson).toMillis() + 5000));
        Run again = run("merge", m.toString(), p1.toString(), p2.toString());
        assertEquals(0, again.code(), again.err());
        assertFalse(upToDate(again, m), "a touched part: merged again");
    }

    // ------------------------------------------------------------------ interrupted runs (child JVMs)

    /**
     * Starts {@code slimq quantize} in a child JVM (the CLI's main class on the test class path),
     * interpreted only ({@code -Xint}) and on one thread so that it is slow enough to be stopped
     * half-way, and waits until its journal holds {@code lines} finished tensors.
     */
    private static Process startSlowQuantize(Path in, Path out, Path journal, int lines) throws Exception {
        List<String> args = new ArrayList<>(List.of("quantize", in.toString(), out.toString()));
        args.addAll(List.of(QUANT));
        return startSlow(args, journal, lines);
    }

    /** {@code slimq ARGS} in a slow child JVM (see {@link #startSlowQuantize}), once the journal has {@code lines}. */
    private static Process startSlow(List<String> args, Path journal, int lines) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow(() -> new AssertionError("no java command"));
        List<String> cmd = new ArrayList<>(List.of(java, "-Xint", "-Xmx256m", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        cmd.addAll(List.of("--threads", "1", "-q"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (System.nanoTime() < deadline) {
            if (completeLines(journal) >= lines) {
                return p;
            }
            if (!p.isAlive()) {
                throw new AssertionError("the child finished (exit " + p.exitValue() + ") before it could be interrupted");
            }
            Thread.sleep(5);
        }
        p.destroyForcibly();
        throw new AssertionError("the child wrote no journal in time");
    }

    private static int completeLines(Path journal) throws IOException {
        if (!Files.exists(journal)) {
            return 0;
        }
        int n = 0;
        for (byte b : Files.readAllBytes(journal)) {
            n += b == '\n' ? 1 : 0;
        }
        return n;
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted(Comparator.naturalOrder()).toList();
        }
    }

    private static void assertSameOutput(Path expected, Path actual) throws IOException {
        assertEquals(listing(expected), listing(actual));
        for (String name : listing(expected)) {
            assertArrayEquals(Files.readAllBytes(expected.resolve(name)), Files.readAllBytes(actual.resolve(name)), name);
        }
    }

    @Test
    @Timeout(600)
    void sigkillThenResumeGivesTheSameBytesAndRecomputesADamagedTensor() throws Exception {
        Path ref = tmp.resolve("ref");
        assertEquals(0, quantize(llama, ref, "-q").code());

        Path out = tmp.resolve("out");
        Path staging = tmp.resolve(".out.partial");
        Path temp = staging.resolve(".model.safetensors.partial");
        Path journal = staging.resolve(".model.safetensors.journal");
        Process p = startSlowQuantize(llama, out, journal, 3);
        try {
            p.destroyForcibly(); // SIGKILL: no shutdown hook, no clean-up
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(137, p.exitValue(), "killed by SIGKILL");
        } finally {
            p.destroyForcibly();
        }
        assertFalse(Files.exists(out), "nothing under the final name");
        assertTrue(Files.isRegularFile(temp), "the temp output is left for the next run");

        // Damage the first journaled tensor: its line still vouches for it, its bytes no longer match.
        int journaled = completeLines(journal);
        String[] first = Files.readAllLines(journal, StandardCharsets.UTF_8).getFirst().split("\t");
        long begin = Long.parseLong(first[1]);
        long end = Long.parseLong(first[2]);
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            long at = 8 + len.flip().getLong() + begin + (end - begin) / 2;
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, at);
            one.put(0, (byte) ~one.get(0)).rewind();
            ch.write(one, at);
        }

        Run resumed = quantize(llama, out, "--json");
        assertEquals(0, resumed.code(), resumed.err());
        int kept = JSON.readTree(resumed.out()).get("resumed_tensors").asInt();
        assertEquals(journaled - 1, kept, "every journaled tensor but the damaged one is kept");
        assertTrue(kept >= 2);
        assertTrue(resumed.err().contains("resumed: kept " + kept), resumed.err());
        assertSameOutput(ref, out);
        assertFalse(Files.exists(staging), "no leftovers after the resumed run");
    }

    /** convert's safetensors outputs (casts, resharding) resume like quantize: kept tensors, the same final bytes. */
    @Test
    @Timeout(600)
    void sigkilledConvertResumesToTheSameBytes() throws Exception {
        Path small = tmp.resolve("small-llama");
        SynthCheckpoint.write(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.SMALL), small);
        List<String> args = List.of("convert", small.toString(), "OUT", "--to", "safetensors", "--dtype", "f32");
        Path ref = tmp.resolve("ref-f32");
        Run full = run(args.stream().map(a -> a.equals("OUT") ? ref.toString() : a).toArray(String[]::new));
        assertEquals(0, full.code(), full.err());

        Path out = tmp.resolve("out-f32");
        Path journal = tmp.resolve(".out-f32.partial").resolve(".model.safetensors.journal");
        Process p = startSlow(args.stream().map(a -> a.equals("OUT") ? out.toString() : a).toList(), journal, 2);
        try {
            p.destroyForcibly(); // SIGKILL
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(137, p.exitValue(), "killed by SIGKILL");
        } finally {
            p.destroyForcibly();
        }
        assertFalse(Files.exists(out), "nothing under the final name");
        Run resumed = run(args.stream().map(a -> a.equals("OUT") ? out.toString() : a).toArray(String[]::new));
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("resumed: kept "), resumed.err());
        assertSameOutput(ref, out);
    }

    @Test
    @Timeout(600)
    void sigtermKeepsTheResumableStateOfASingleFileOutput() throws Exception {
        Path ref = tmp.resolve("ref.safetensors");
        assertEquals(0, quantize(llama, ref, "-q").code());

        Path out = tmp.resolve("out.safetensors");
        Path journal = tmp.resolve(".out.safetensors.journal");
        Process p = startSlowQuantize(llama, out, journal, 2);
        try {
            p.destroy(); // SIGTERM, as Ctrl-C's SIGINT: the shutdown hook runs, and keeps resumable state
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(143, p.exitValue(), "ended by SIGTERM");
        } finally {
            p.destroyForcibly();
        }
        assertFalse(Files.exists(out), "nothing under the final name");
        assertTrue(Files.isRegularFile(tmp.resolve(".out.safetensors.partial")), "the temp output is kept");

        // Another option: the leftovers are not this run's and are discarded, not resumed.
        Run r = quantize(llama, out, "--json", "--bits", "8");
        assertEquals(0, r.code(), r.err());
        assertEquals(0, JSON.readTree(r.out()).get("resumed_tensors").asInt());
        Files.delete(out);
        Files.delete(tmp.resolve(".out.safetensors.slimq-fingerprint.json"));

        p = startSlowQuantize(llama, out, journal, 2);
        try {
            p.destroy();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        Run resumed = quantize(llama, out, "--json");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(JSON.readTree(resumed.out()).get("resumed_tensors").asInt() >= 2, resumed.out());
        assertArrayEquals(Files.readAllBytes(ref), Files.readAllBytes(out));
        assertEquals(List.of(".out.safetensors.slimq-fingerprint.json", ".ref.safetensors.slimq-fingerprint.json",
                "out.safetensors", "ref.safetensors"), listing(tmp), "temp, journal and notes are gone");
    }

    // ------------------------------------------------------------------ recipes

    @Test
    void aFinishedRecipeWithUnchangedInputsIsSkipped() throws IOException {
        Path model = modelCopy();
        Path out = tmp.resolve("w4");
        Path recipe = tmp.resolve("r.yaml");
        Files.writeString(recipe, """
                version: 1
                steps:
                  - command: quantize
                    in: ${model}
                    out: ${work}/q
                    args:
                      format: slimq
                      group-size: 32
                  - command: dequantize
                    in: ${prev}
                    out: ${out}
                """);
        String[] args = {"run", recipe.toString(), "--set", "model=" + model, "--set", "out=" + out, "--quiet"};
        Run first = run(args);
        assertEquals(0, first.code(), first.err());
        assertTrue(Files.isRegularFile(out.resolve(".slimq-recipe.json")), "the recipe's fingerprint is with its output");
        Object before = identity(out.resolve("model.safetensors"));

        Run again = run(args);
        assertEquals(0, again.code(), again.err());
        assertEquals("up to date: " + out, again.err().strip());
        assertEquals(before, identity(out.resolve("model.safetensors")));
        assertFalse(Files.exists(tmp.resolve(".w4.slimq-work")), "not even the work directory was made");

        List<String> json = new ArrayList<>(List.of(args));
        json.add("--json");
        JsonNode j = JSON.readTree(run(json.toArray(String[]::new)).out());
        assertTrue(j.get("up_to_date").asBoolean());
        assertEquals(0, j.get("steps").size());

        // A touched input runs it again, and replaces the recipe's own earlier result without --force.
        Run touched;
        Path config = model.resolve("config.json");
        Files.setLastModifiedTime(config, FileTime.fromMillis(Files.getLastModifiedTime(config).toMillis() + 5000));
        touched = run(args);
        assertEquals(0, touched.code(), touched.err());
        assertFalse(touched.err().contains("up to date"), "a touched input runs the recipe again");
        assertNotEquals(before, identity(out.resolve("model.safetensors")));
        assertTrue(run(args).err().contains("up to date"));
        List<String> forcedArgs = new ArrayList<>(List.of(args));
        forcedArgs.add("--force");
        Run forced = run(forcedArgs.toArray(String[]::new));
        assertEquals(0, forced.code(), forced.err());
        assertFalse(forced.err().contains("up to date"), "--force runs it again");
        assertTrue(run(args).err().contains("up to date"), "and records the same fingerprint as a run without --force");
        Files.writeString(recipe, Files.readString(recipe).replace("group-size: 32", "group-size: 64"));
        Path foreign = Files.createDirectories(tmp.resolve("foreign"));
        Run refused = run("run", recipe.toString(), "--set", "model=" + model, "--set", "out=" + foreign, "--quiet");
        assertEquals(ExitCode.USAGE.code(), refused.code(), "an output no recipe recorded still needs --force");
        assertTrue(refused.err().contains("already exists"), refused.err());
        Run edited = run(args);
        assertEquals(0, edited.code(), edited.err());
        assertFalse(edited.err().contains("up to date"), "an edited step runs again");
    }

    @Test
    void aRecipeThatFailedAfterItsFinalOutputSkipsThatStepOnTheRerun() throws IOException {
        Path out = tmp.resolve("w4");
        Path recipe = tmp.resolve("r.yaml");
        String text = """
                version: 1
                steps:
                  - command: quantize
                    in: MODEL
                    out: ${out}
                    args:
                      format: slimq
                      group-size: 32
                  - command: validate
                    in: ${prev}
                    args:
                      reference: MODEL
                      max-error: LIMIT
                """.replace("MODEL", llama.toString());
        Files.writeString(recipe, text.replace("LIMIT", "0.000001"));
        String[] args = {"run", recipe.toString(), "--set", "out=" + out};
        Run failed = run(args);
        assertEquals(ExitCode.QUALITY.code(), failed.code(), "the gate fails after the final output is written: " + failed.err());
        assertTrue(Files.isDirectory(out));
        assertFalse(Files.exists(out.resolve(".slimq-recipe.json")), "a failed recipe records nothing");
        Object quantized = identity(out.resolve("model.safetensors"));

        Files.writeString(recipe, text.replace("LIMIT", "10"));
        Run fixed = run(args);
        assertEquals(0, fixed.code(), fixed.err());
        assertTrue(fixed.err().contains("up to date: " + out), "the quantize step is skipped: " + fixed.err());
        assertEquals(quantized, identity(out.resolve("model.safetensors")));
        assertTrue(run(args).err().contains("up to date: " + out));
    }

    @Test
    void aFailedRecipeKeepsItsWorkAndTheRerunSkipsTheFinishedSteps() throws IOException {
        Path out = tmp.resolve("f16");
        Path recipe = tmp.resolve("r.yaml");
        String text = """
                version: 1
                steps:
                  - command: quantize
                    in: MODEL
                    out: ${work}/q
                    args:
                      format: slimq
                      group-size: 32
                  - command: validate
                    in: ${prev}
                    args:
                      reference: MODEL
                      max-error: LIMIT
                  - command: dequantize
                    in: ${prev}
                    out: ${out}
                """.replace("MODEL", llama.toString());
        Files.writeString(recipe, text.replace("LIMIT", "0.000001"));
        String[] args = {"run", recipe.toString(), "--set", "out=" + out};
        Run failed = run(args);
        assertEquals(ExitCode.QUALITY.code(), failed.code(), failed.err());
        Path q = tmp.resolve(".f16.slimq-work/q");
        assertTrue(Files.isDirectory(q), "the work directory is kept");
        assertFalse(Files.exists(out));

        Files.writeString(recipe, text.replace("LIMIT", "10")); // an edited recipe: only the gate changed
        Run fixed = run(args);
        assertEquals(0, fixed.code(), fixed.err());
        assertTrue(fixed.err().contains("up to date: " + q), "the finished step is not redone: " + fixed.err());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertFalse(Files.exists(q), "the work directory is removed on success");
        assertTrue(run(args).err().contains("up to date: " + out));
    }

    @Test
    @Timeout(600)
    void aRecipeKilledInItsQuantizeStepResumesItOnTheRerun() throws Exception {
        Path ref = tmp.resolve("ref");
        assertEquals(0, quantize(llama, ref, "-q").code());
        Path out = tmp.resolve("w4");
        Path recipe = tmp.resolve("r.yaml");
        Files.writeString(recipe, """
                version: 1
                steps:
                  - command: quantize
                    in: MODEL
                    out: ${work}/q
                    args:
                      format: slimq
                      group-size: 32
                  - command: validate
                    in: ${prev}
                    args:
                      reference: MODEL
                  - command: quantize
                    in: MODEL
                    out: OUT
                    args:
                      format: slimq
                      group-size: 32
                """.replace("MODEL", llama.toString()).replace("OUT", out.toString()));
        Path journal = tmp.resolve(".w4.slimq-work/.q.partial/.model.safetensors.journal");
        Process p = startSlow(List.of("run", recipe.toString()), journal, 3);
        try {
            p.destroyForcibly();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(137, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
        Run resumed = run("run", recipe.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("resumed: kept "), "the killed step resumes: " + resumed.err());
        assertTrue(run("run", recipe.toString()).err().contains("up to date: " + out));
        Files.delete(out.resolve(".slimq-recipe.json")); // the one file a plain quantize does not write
        assertSameOutput(ref, out);
    }
}
