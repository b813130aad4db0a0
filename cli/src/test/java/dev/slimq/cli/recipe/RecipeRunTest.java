package dev.slimq.cli.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.cli.RunCommand;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimq run} end to end through picocli's {@code execute}, on generated checkpoints. */
class RecipeRunTest {
    @TempDir
    static Path shared;

    static Path llama;
    static Path bert;

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

    @BeforeAll
    static void checkpoints() {
        llama = shared.resolve("tiny-llama");
        bert = shared.resolve("tiny-bert");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
    }

    private Path recipe(String name, String text) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private static final String TWO_STEPS = """
            version: 1
            vars:
              model: MODEL
              out: OUT
            steps:
              - name: w4
                command: quantize
                in: ${model}
                out: ${out}
                args:
                  bits: 4
                  symmetric: true
              - name: check
                command: validate
                in: ${prev}
                args:
                  reference: ${model}
                  report: ${work}/report.json
            """;

    @Test
    void twoStepRecipeRunsAndRemovesTheWorkDirectory() throws IOException {
        Path out = tmp.resolve("w4");
        Path r = recipe("r.yaml", TWO_STEPS.replace("MODEL", llama.toString()).replace("OUT", out.toString()));
        Run run = run("run", r.toString(), "--json");
        assertEquals(0, run.code(), run.err());
        assertTrue(Files.isDirectory(out), "final output written");
        assertFalse(Files.exists(tmp.resolve(".w4.slimq-work")), "work dir removed");
        JsonNode j = new ObjectMapper().readTree(run.out());
        assertEquals(1, j.get("schema_version").asInt());
        assertEquals(2, j.get("steps").size());
        assertEquals(0, j.get("steps").get(1).get("exit_code").asInt());
        assertTrue(j.get("steps").get(0).get("duration_ms").asLong() >= 0);

        // The final output now exists and records this recipe run: skipped; --force runs it again.
        Run again = run("run", r.toString());
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("up to date"), again.err());
        Run forced = run("run", r.toString(), "--force", "--keep-work", "--quiet");
        assertEquals(0, forced.code(), forced.err());
        assertTrue(Files.isRegularFile(tmp.resolve(".w4.slimq-work/report.json")), "--keep-work keeps it");
    }

    @Test
    void failingStepExitCodePropagatesAndKeepsTheWorkDirectory() throws IOException {
        Path out = tmp.resolve("w2");
        Path r = recipe("fail.yaml", """
                version: 1
                steps:
                  - command: quantize
                    in: ${model}
                    out: ${work}/q
                    args: {group-size: 32}
                  - name: strict gate
                    command: validate
                    in: ${prev}
                    args:
                      reference: ${model}
                      max-error: "0.0000001"
                  - command: dequantize
                    in: ${prev}
                    out: OUT
                """.replace("OUT", out.toString()));
        Run run = run("run", r.toString(), "--set", "model=" + llama);
        assertEquals(7, run.code(), run.err());
        assertTrue(run.err().contains("step 2 'strict gate' (2/3) failed with exit code 7"), run.err());
        assertTrue(run.err().contains("work directory kept at"), run.err());
        assertTrue(Files.isDirectory(tmp.resolve(".w2.slimq-work/q")));
        assertFalse(Files.exists(out), "later steps did not run");
    }

    @Test
    void dryRunPrintsCommandsAndWritesNothing() throws IOException {
        Path out = tmp.resolve("w4");
        Path r = recipe("r.yaml", TWO_STEPS.replace("MODEL", llama.toString()).replace("OUT", out.toString()));
        Run run = run("run", r.toString(), "--dry-run", "--set", "out=" + tmp.resolve("other w4"));
        assertEquals(0, run.code(), run.err());
        String[] lines = run.out().strip().split("\n");
        assertEquals(2, lines.length, run.out());
        assertEquals("slimq quantize " + llama + " '" + tmp.resolve("other w4") + "' --bits 4 --symmetric", lines[0]);
        assertTrue(lines[1].startsWith("slimq validate '" + tmp.resolve("other w4") + "' --reference " + llama + " --report "), lines[1]);
        assertTrue(lines[1].contains(".other w4.slimq-work/report.json"), lines[1]);
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(r), s.toList(), "nothing written");
        }
    }

    @Test
    void jsonRecipesWork() throws IOException {
        Path r = recipe("r.json", """
                {"version": 1, "steps": [{"command": "inspect", "in": "%s", "args": {"tensors": true}}]}
                """.formatted(llama));
        Run run = run("run", r.toString(), "--dry-run");
        assertEquals(0, run.code(), run.err());
        assertEquals("slimq inspect " + llama + " --tensors", run.out().strip());
    }

    private void rejected(String text, String where, String... fragments) throws IOException {
        Path r = recipe(text.startsWith("{") ? "bad.json" : "bad.yaml", text);
        Run run = run("run", r.toString(), "--dry-run", "--set", "model=" + llama, "--set", "out=" + tmp.resolve("o"));
        assertEquals(3, run.code(), run.err());
        assertTrue(run.err().contains(r + ":" + where), run.err());
        for (String f : fragments) {
            assertTrue(run.err().contains(f), run.err());
        }
        assertEquals("", run.out());
    }

    @Test
    void defectsAreRejectedWithLineAndColumnAndExit3() throws IOException {
        rejected("""
                version: 1
                steps:
                  - command: quantize
                    in: ${model}
                    out: ${out}
                    arg: {bits: 4}
                """, "6:5", "unknown key 'arg'", "known: args, command, in, name, out");
        rejected("""
                version: 1
                steps:
                  - command: quantize
                    in: ${model}
                    out: ${out}
                    args:
                      bits: {four: 4}
                """, "7:", "an option value must be");
        rejected("""
                version: "1"
                steps: []
                """, "1:", "version");
        rejected("""
                version: 1
                vars: {bits: 4}
                steps: [{command: inspect, in: x}]
                """, "2:", "vars");
        rejected("""
                version: 1
                steps:
                  - command: quantize
                    in: ${model}
                    in: ${model}
                    out: ${out}
                """, "5:", "Duplicate field 'in'");
        rejected("""
                version: 1
                steps:
                  - command: inspect
                    in: ${model}
                  - name: w4
                    command: quantize
                    in: ${model}
                    out: ${out}
                    args: {bitz: 4}
                """, "5:5", "step 2 'w4'", "Unknown option", "--bitz");
        rejected("""
                version: 1
                steps:
                  - command: inspect
                    in: ${model}
                  - command: quantize
                    in: ${modle}
                    out: ${out}
                """, "5:5", "step 2 'quantize'", "unknown variable '${modle}'", "--set modle=VALUE");
        rejected("""
                version: 1
                steps:
                  - command: frobnicate
                    in: x
                """, "3:5", "unknown command 'frobnicate'");
        rejected("""
                {"version": 1, "steps": [
                  {"command": "validate", "in": "x", "out": "y"}]}
                """, "2:3", "validate writes no output");
    }

    @Test
    void setNeedsNameEqualsValue() throws IOException {
        Path r = recipe("r.yaml", "version: 1\nsteps: [{command: inspect, in: x}]\n");
        Run run = run("run", r.toString(), "--set", "model", "--dry-run");
        assertEquals(2, run.code(), run.err());
    }

    @Test
    void everyExampleRecipeDryRuns() throws IOException {
        Path dir = Path.of("..", "examples", "recipes").toAbsolutePath().normalize();
        List<Path> recipes = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.toString().endsWith(".yaml")).sorted().forEach(recipes::add);
        }
        assertTrue(recipes.size() >= 4, recipes.toString());
        for (Path p : recipes) {
            boolean isBert = p.getFileName().toString().startsWith("bert");
            Run run = run("run", p.toString(), "--dry-run", "--set", "model=" + (isBert ? bert : llama),
                    "--set", "out=" + tmp.resolve(p.getFileName() + ".out"));
            assertEquals(0, run.code(), p + ": " + run.err());
            assertTrue(run.out().startsWith("slimq "), run.out());
        }
    }
}
