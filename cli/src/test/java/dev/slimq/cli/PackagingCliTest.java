package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.progress.ProgressEvent;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pipeline manners and packaging: the ./slimq launcher as a process (clean stderr, exit codes,
 * NO_COLOR), {@code help exit-codes}, {@code schema_version} in --json documents, progress modes,
 * the version from the build and the man page generator's roff.
 */
class PackagingCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The repository root: surefire runs in cli/. */
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    static Path shared;

    static Path llama;

    @BeforeAll
    static void model() {
        llama = shared.resolve("tiny-llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
    }

    record Proc(int code, String out, String err) {
    }

    /**
     * Runs the real launcher script. The jar is packaged after the tests run, so the launcher runs
     * the compiled classes (SLIMQ_CLASSPATH) with everything else as a user gets it.
     */
    static Proc launcher(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("slimq").toString()));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("SLIMQ_CLASSPATH", testClassPath());
        pb.environment().remove("NO_COLOR");
        pb.environment().remove("CLICOLOR_FORCE");
        pb.environment().remove("SLIMQ_JAVA_OPTS");
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Path out = Files.createTempFile(shared, "out", ".txt");
        Path err = Files.createTempFile(shared, "err", ".txt");
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "launcher did not finish");
        return new Proc(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        assertTrue(cp.contains("classes"), "unexpected test class path " + cp);
        return cp;
    }

    /** The version in the root pom, read independently of the build's resource filtering. */
    static String pomVersion() throws IOException {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        Matcher m = Pattern.compile("<artifactId>slimq-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find());
        return m.group(1);
    }

    // --- the launcher as a process ---

    @Test
    void versionThroughLauncherHasCleanStderr() throws Exception {
        Proc p = launcher(Map.of(), "--version");
        assertEquals(0, p.code(), p.err());
        assertEquals("", p.err(), "the JVM's incubator warning must not reach stderr");
        String first = p.out().lines().findFirst().orElseThrow();
        assertTrue(first.equals("slimq " + pomVersion()) || first.startsWith("slimq " + pomVersion() + " (commit "), first);
        assertTrue(p.out().lines().anyMatch(l -> l.startsWith("Java " + Runtime.version().feature())), p.out());
    }

    @Test
    void quietCommandsThroughLauncherLeaveStderrEmpty() throws Exception {
        Path out = shared.resolve("synth-out");
        Proc s = launcher(Map.of("CI", "true"), "synth", out.toString(), "--size", "tiny", "-q");
        assertEquals(0, s.code(), s.err());
        assertEquals("", s.err());
        assertTrue(Files.isRegularFile(out.resolve("config.json")));
        Proc i = launcher(Map.of(), "inspect", out.toString(), "--json", "-q");
        assertEquals(0, i.code(), i.err());
        assertEquals("", i.err());
        JsonNode j = JSON.readTree(i.out());
        assertEquals("schema_version", j.fieldNames().next());
        assertEquals(1, j.get("schema_version").asInt());
    }

    @Test
    void errorsKeepTheirExitCodeAndOneLine() throws Exception {
        Proc p = launcher(Map.of(), "inspect", shared.resolve("does-not-exist").toString());
        assertEquals(5, p.code());
        assertEquals("", p.out());
        assertEquals(1, p.err().lines().count(), p.err());
        assertTrue(p.err().startsWith("slimq: error: "), p.err());
        Proc u = launcher(Map.of(), "inspect", "--no-such-option");
        assertEquals(2, u.code());
        assertTrue(u.err().startsWith("slimq: usage error: "), u.err());
    }

    @Test
    void otherJvmMessagesStillReachStderr() throws Exception {
        // The filter drops exactly the incubator line; a JVM start-up error passes through.
        Proc p = launcher(Map.of("SLIMQ_JAVA_OPTS", "-XX:+NoSuchSlimqTestFlag"), "--version");
        assertEquals(1, p.code());
        assertTrue(p.err().contains("NoSuchSlimqTestFlag"), p.err());
        assertFalse(p.err().contains("incubator"), p.err());
    }

    @Test
    void noColorTurnsOffHelpColours() throws Exception {
        // CLICOLOR_FORCE makes picocli colour even without a terminal; NO_COLOR wins over it.
        Proc coloured = launcher(Map.of("CLICOLOR_FORCE", "1"), "--help");
        assertEquals(0, coloured.code());
        assertTrue(coloured.out().contains("\u001b["), "expected ANSI styles with CLICOLOR_FORCE");
        Proc plain = launcher(Map.of("CLICOLOR_FORCE", "1", "NO_COLOR", "1"), "--help");
        assertEquals(0, plain.code());
        assertFalse(plain.out().contains("\u001b"), plain.out());
        assertTrue(plain.out().startsWith("Usage: slimq "), plain.out());
    }

    // --- help topics ---

    @Test
    void helpExitCodesPrintsTheTable() {
        CliRun r = run("help", "exit-codes");
        assertEquals(0, r.code(), r.err());
        List<String> rows = r.out().lines().filter(l -> l.matches("^\\s*\\d+ .*")).map(String::strip).toList();
        // DESIGN.md section 6: 0 ok, 1 internal, 2 usage, 3 bad input, 4 unsupported, 5 I/O, 6 device, 7 quality.
        String[] expected = {"0 ok", "1 internal", "2 usage", "3 bad-input", "4 unsupported", "5 io", "6 device", "7 quality",
            "130 signal", "143 signal"};
        assertEquals(expected.length, rows.size(), r.out());
        for (int k = 0; k < expected.length; k++) {
            assertEquals(expected[k], rows.get(k).replaceAll("\\s+", " ").substring(0, expected[k].length()), rows.get(k));
        }
    }

    @Test
    void helpCommandStillShowsCommandUsage() {
        CliRun r = run("help", "inspect");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Usage: slimq inspect "), r.out());
        CliRun root = run("help");
        assertTrue(root.out().contains("Usage: slimq "), root.out());
        assertTrue(root.out().contains("slimq help exit-codes"), root.out());
        CliRun bad = run("help", "no-such-topic");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("no-such-topic"), bad.err());
    }

    // --- --json documents ---

    record Sample(String name, int count) {
    }

    @Test
    void jsonDocumentsStartWithSchemaVersion() throws IOException {
        ObjectNode rec = JsonOutput.withSchemaVersion(new Sample("x", 3));
        assertEquals(List.of("schema_version", "name", "count"), names(rec));
        assertEquals(1, rec.get("schema_version").asInt());
        ObjectNode list = JsonOutput.withSchemaVersion(List.of(new Sample("a", 1), new Sample("b", 2)));
        assertEquals(List.of("schema_version", "entries"), names(list));
        assertEquals("b", list.get("entries").get(1).get("name").asText());
        ObjectNode own = JSON.createObjectNode().put("rows", 0).put("schema_version", 2);
        assertEquals(List.of("schema_version", "rows"), names(JsonOutput.withSchemaVersion(own)));
        assertEquals(2, JsonOutput.withSchemaVersion(own).get("schema_version").asInt());
    }

    @Test
    void commandsPrintSchemaVersionFirst() throws IOException {
        Path q = shared.resolve("q");
        String[][] commands = {
            {"inspect", llama.toString(), "--json"},
            {"synth", shared.resolve("s").toString(), "--size", "tiny", "--json"},
            {"quantize", llama.toString(), q.toString(), "--json", "--threads", "1"},
            {"dequantize", q.toString(), shared.resolve("dq").toString(), "--json"},
            {"summarize", q.toString(), "--json"},
        };
        for (String[] c : commands) {
            CliRun r = run(c);
            assertEquals(0, r.code(), String.join(" ", c) + ": " + r.err());
            JsonNode j = JSON.readTree(r.out());
            assertEquals("schema_version", j.fieldNames().next(), String.join(" ", c));
            assertEquals(1, j.get("schema_version").asInt(), String.join(" ", c));
        }
    }

    private static List<String> names(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    // --- progress ---

    @Test
    void ciTurnsTheBarIntoLines() {
        assertEquals(ProgressRenderer.Mode.BAR, ProgressRenderer.Mode.detect("bar", null));
        assertEquals(ProgressRenderer.Mode.LINES, ProgressRenderer.Mode.detect("bar", "true"));
        assertEquals(ProgressRenderer.Mode.LINES, ProgressRenderer.Mode.detect("bar", "1"));
        assertEquals(ProgressRenderer.Mode.BAR, ProgressRenderer.Mode.detect("bar", "false"));
        assertEquals(ProgressRenderer.Mode.BAR, ProgressRenderer.Mode.detect("bar", ""));
        assertEquals(ProgressRenderer.Mode.LINES, ProgressRenderer.Mode.detect("lines", null));
        assertEquals(ProgressRenderer.Mode.NONE, ProgressRenderer.Mode.detect("none", "true"));
    }

    @Test
    void barUsesNoEscapeCodesAndClearsItself() {
        StringWriter sw = new StringWriter();
        ProgressRenderer r = new ProgressRenderer(new PrintWriter(sw), ProgressRenderer.Mode.BAR);
        // Within the first 100 ms only the finished event is drawn (redraws are throttled).
        r.onProgress(new ProgressEvent("quantize", 1, 4, "tensors"));
        r.onProgress(new ProgressEvent("quantize", 4, 4, "tensors"));
        String s = sw.toString();
        assertFalse(s.contains("\u001b"), s);
        // The bar after a carriage return, then erased with spaces, the cursor back at column 0.
        String done = "quantize [" + "#".repeat(30) + "] 100.0% 4 tensors / 4 tensors";
        assertEquals("\r" + done + "\r" + " ".repeat(done.length()) + "\r", s);
        // --quiet: no renderer at all.
        assertEquals(ProgressListener.NONE, ProgressRenderer.of(new PrintWriter(sw), ProgressRenderer.Mode.BAR, true));
    }

    // --- version and man pages ---

    @Test
    void versionComesFromTheBuild() throws IOException {
        assertEquals(pomVersion(), VersionProvider.version());
    }

    @Test
    void roffEscaping() {
        assertEquals("a\\-b\\ec\\[u00D7]d", ManPages.escape("a-b\\c\u00d7d"));
        assertEquals("\\&.PP is text", ManPages.escapeLine(".PP is text"));
        assertEquals("\\&'quoted", ManPages.escapeLine("'quoted"));
        assertEquals("plain", ManPages.escapeLine("plain"));
    }

    @Test
    void manPagesCoverEveryCommand() throws IOException {
        Path out = shared.resolve("docs");
        ManPages.main(new String[] {out.toString()});
        List<String> pages;
        try (var s = Files.list(out.resolve("man/man1"))) {
            pages = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        for (String c : List.of("slimq", "slimq-inspect", "slimq-quantize", "slimq-dequantize", "slimq-convert", "slimq-prune",
                "slimq-run", "slimq-merge", "slimq-help", "slimq-synth", "slimq-validate", "slimq-eval")) {
            assertTrue(pages.contains(c + ".1"), c + " missing from " + pages);
        }
        String inspect = Files.readString(out.resolve("man/man1/slimq-inspect.1"), StandardCharsets.UTF_8);
        assertTrue(inspect.startsWith(".TH \"SLIMQ\\-INSPECT\" 1 "), inspect.lines().findFirst().orElse(""));
        for (String section : List.of(".SH NAME\nslimq\\-inspect \\- ", ".SH SYNOPSIS", ".SH OPTIONS", ".TP\n\\fB\\-\\-json\\fR\n",
                ".SH EXIT STATUS", ".SH SEE ALSO\n\\fBslimq\\fR(1)")) {
            assertTrue(inspect.contains(section), section + " not in\n" + inspect);
        }
        String completion = Files.readString(out.resolve("bash-completion/slimq"));
        assertTrue(completion.contains("complete -F _complete_slimq"), "not a bash completion script");
        assertTrue(completion.contains("exit-codes") || completion.contains("inspect"), "completion lacks commands");
    }
}
