package dev.slimq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code slimq summarize} over outputs that {@code quantize} and {@code validate} really wrote. */
class SummarizeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;

    static Path out;
    static Path llamaW4;
    static Path bertW8;

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
        JsonNode json() throws IOException {
            return JSON.readTree(out);
        }
    }

    static Run run(String... args) {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        PrintWriter ow = new PrintWriter(o, true);
        PrintWriter ew = new PrintWriter(e, true);
        CommandLine cl = Main.commandLine(ow, ew, ProgressRenderer.Mode.NONE);
        if (!cl.getSubcommands().containsKey("summarize")) {
            cl.addSubcommand("summarize", new SummarizeCommand());
        }
        cl.setOut(ow);
        cl.setErr(ew);
        int code = cl.execute(args);
        return new Run(code, o.toString(), e.toString());
    }

    @BeforeAll
    static void outputs() throws IOException {
        Path llama = shared.resolve("models/llama");
        Path bert = shared.resolve("models/bert");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
        out = shared.resolve("out");
        llamaW4 = out.resolve("llama-w4");
        bertW8 = out.resolve("bert-w8");
        Run q1 = run("quantize", llama.toString(), llamaW4.toString(), "--method", "rtn", "-q");
        assertEquals(0, q1.code(), q1.err());
        Run q2 = run("quantize", bert.toString(), bertW8.toString(), "--bits", "8", "--method", "rtn", "-q", "--json");
        assertEquals(0, q2.code(), q2.err());
        Files.writeString(out.resolve("bert-w8.quantize.json"), q2.out());
        // validate --report next to the output (as the batch Makefile does)
        Run v = run("validate", llamaW4.toString(), "--reference", llama.toString(), "--device", "cpu", "-q",
                "--report", out.resolve("llama-w4.validation.json").toString());
        assertEquals(0, v.code(), v.err());
        // an eval --json result inside the output
        Files.writeString(bertW8.resolve("eval.json"), "{\"comparison\": {\"mean_cos\": 0.9912, \"min_cos\": 0.98}}");
    }

    @Test
    void markdownTableAcrossModelsSortedByPath() {
        Run r = run("summarize", llamaW4.toString(), bertW8.toString());
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\n");
        assertEquals(4, lines.length, r.out());
        assertTrue(lines[0].startsWith("| model | type | method | format | bits/weight |"), lines[0]);
        assertTrue(lines[2].contains("bert-w8") && lines[2].contains("| bert | rtn | compressed-tensors |"), lines[2]);
        assertTrue(lines[3].contains("llama-w4") && lines[3].contains("| llama | rtn |"), lines[3]);
        // bert: eval and time but no validation; llama: validation but no eval or time
        assertTrue(lines[2].contains("| 0.9912 |") && lines[2].matches(".*\\| - \\| - \\| 0\\.9912 \\| [0-9.]+ s \\|"), lines[2]);
        assertTrue(lines[3].contains("| passed | ") && lines[3].endsWith("| - | - |"), lines[3]);
        assertEquals("", r.err());
    }

    @Test
    void jsonRowsCarryTheReportsValues() throws IOException {
        Run r = run("summarize", llamaW4.toString(), bertW8.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = r.json();
        assertEquals(1, j.get("schema_version").asInt());
        JsonNode rows = j.get("rows");
        assertEquals(2, rows.size());
        JsonNode bert = rows.get(0);
        JsonNode llama = rows.get(1);
        assertTrue(bert.get("path").asText().endsWith("bert-w8"));
        JsonNode rep = JSON.readTree(llamaW4.resolve("quantization-report.json").toFile());
        assertEquals(rep.get("bits_per_weight").asDouble(), llama.get("bits_per_weight").asDouble());
        assertEquals(rep.get("mean_sqnr_db").asDouble(), llama.get("mean_sqnr_db").asDouble());
        assertEquals(rep.get("stored_bytes").asLong(), llama.get("stored_bytes").asLong());
        assertEquals(rep.get("tensor_count").asInt(), llama.get("tensor_count").asInt());
        assertEquals(Files.size(llamaW4.resolve("model.safetensors")), llama.get("weight_bytes").asLong());
        assertTrue(llama.get("validation_passed").asBoolean());
        double worst = llama.get("worst_output_rel_error").asDouble();
        assertTrue(worst > 0 && worst < 1, "worst " + worst);
        assertFalse(llama.has("eval_mean_cos"));
        assertEquals(0.9912, bert.get("eval_mean_cos").asDouble());
        assertTrue(bert.get("quantize_seconds").asDouble() >= 0);
        assertEquals(8.0, Math.floor(bert.get("bits_per_weight").asDouble()));
    }

    @Test
    void markdownFileAndMissingPieces() throws IOException {
        // a float checkpoint (no report): everything but type and size is '-'
        Path plain = tmp.resolve("plain");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), plain);
        Path md = tmp.resolve("SUMMARY.md");
        Run r = run("summarize", plain.toString(), llamaW4.toString(), "--markdown", md.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.out());
        String text = Files.readString(md);
        String plainRow = text.lines().filter(l -> l.contains("plain")).findFirst().orElseThrow();
        assertTrue(plainRow.contains("| llama | - | - | - | - | - | ") && plainRow.endsWith("| - | - | - | - |"), plainRow);
        assertEquals(4, text.lines().count(), text);
    }

    @Test
    void notACheckpointExitsThreeWithOneLine() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(empty.resolve("notes.txt"), "x");
        Run r = run("summarize", llamaW4.toString(), empty.toString());
        assertEquals(3, r.code(), r.err());
        assertEquals("", r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("not a checkpoint directory"), r.err());
        Run missing = run("summarize", tmp.resolve("nope").toString());
        assertEquals(5, missing.code(), missing.err());
        Path bad = Files.createDirectories(tmp.resolve("bad"));
        Files.copy(llamaW4.resolve("model.safetensors"), bad.resolve("model.safetensors"));
        Files.writeString(bad.resolve("config.json"), "{\"model_type\": ");
        Run badJson = run("summarize", bad.toString());
        assertEquals(3, badJson.code(), badJson.err());
        assertEquals(1, badJson.err().lines().count(), badJson.err());
        assertEquals(2, run("summarize").code());
    }
}
