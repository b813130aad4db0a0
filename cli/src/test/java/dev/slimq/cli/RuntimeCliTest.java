package dev.slimq.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimq calibrate} and {@code slimq eval} on decoders end to end, and how their output feeds {@code prune}. */
class RuntimeCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static Path llama;

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
        JsonNode json() throws IOException {
            return JSON.readTree(out);
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine(new PrintWriter(out, true), new PrintWriter(err, true), ProgressRenderer.Mode.NONE).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void checkpoints() {
        llama = shared.resolve("tiny-llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
    }

    /**
     * Decoder statistics: the documented names and shapes, the same bytes for 1 and 2 threads, and
     * prune scores units from them (bias compensation needs biases the tiny llama does not have).
     */
    @Test
    void calibrateADecoderThenPruneWithItsStatistics() throws IOException {
        Path one = tmp.resolve("one.safetensors");
        Path two = tmp.resolve("two.safetensors");
        Run r = run("calibrate", llama.toString(), two.toString(), "--window", "64", "--threads", "2", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals("llama", r.json().get("architecture").asText());
        assertEquals(0, run("calibrate", llama.toString(), one.toString(), "--window", "64", "--threads", "1").code());
        assertArrayEquals(Files.readAllBytes(one), Files.readAllBytes(two));
        try (SafetensorsFile f = SafetensorsFile.open(two)) {
            // tiny llama: hidden 64, 4 heads x 16, intermediate 192.
            assertEquals("[64]", Arrays.toString(f.tensor("layers.1.self_attn.q_proj.input_var").shape()));
            assertEquals("[64]", Arrays.toString(f.tensor("layers.1.self_attn.o_proj.input_mean").shape()));
            assertEquals("[64]", Arrays.toString(f.tensor("layers.1.mlp.gate_proj.input_absmean").shape()));
            assertEquals("[192]", Arrays.toString(f.tensor("layers.1.mlp.down_proj.input_absmax").shape()));
            assertEquals("64", f.metadata().get("window"));
        }
        Path pruned = tmp.resolve("pruned");
        Run p = run("prune", llama.toString(), pruned.toString(), "--ratio", "0.25", "--units", "mlp", "--stats", two.toString(),
                "--no-bias-compensation", "--json");
        assertEquals(0, p.code(), p.err());
        assertTrue(Files.isRegularFile(pruned.resolve("model.safetensors")));
        assertEquals(ExitCode.USAGE.code(), run("calibrate", llama.toString(), tmp.resolve("w.safetensors").toString(), "--window", "0").code());
    }
}
