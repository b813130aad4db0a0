package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimq quantize --method finequant}: the --granularity rules and their option errors. */
class FineQuantGranularityCliTest {
    @TempDir
    static Path shared;
    static Path bert;

    @TempDir
    Path tmp;

    @BeforeAll
    static void model() {
        bert = shared.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
    }

    private static int groupOf(String key, int cols) {
        return key.equals("channel") ? cols : Integer.parseInt(key);
    }

    /**
     * Each tensor's group size against the rule written out here from the report's per-candidate errors, with
     * the bits per weight by hand: 4 code bits + (F16 scale + F16 zero) / g, no outliers.
     */
    @Test
    void defaultIsBitsAwareAndToleranceKeepsTheOldRule() throws IOException {
        CliRun bits = run("quantize", bert.toString(), tmp.resolve("bits").toString(), "--method", "finequant", "--format", "slimq",
                "--outliers", "off", "--json", "--quiet");
        assertEquals(0, bits.code(), bits.err());
        CliRun old = run("quantize", bert.toString(), tmp.resolve("old").toString(), "--method", "finequant", "--format", "slimq",
                "--outliers", "off", "--granularity-tolerance", "0.10", "--json", "--quiet");
        assertEquals(0, old.code(), old.err());
        CliRun named = run("quantize", bert.toString(), tmp.resolve("named").toString(), "--method", "finequant", "--format", "slimq",
                "--outliers", "off", "--granularity", "tolerance", "--json", "--quiet");
        assertEquals(0, named.code(), named.err());
        assertEquals(Files.readString(tmp.resolve("old/quantization-report.json")), Files.readString(tmp.resolve("named/quantization-report.json")));

        double totalBits = 0;
        long weights = 0;
        for (JsonNode t : bits.json().get("tensors")) {
            int cols = t.get("cols").asInt();
            int best = -1;
            double bestScore = Double.POSITIVE_INFINITY;
            for (Iterator<Map.Entry<String, JsonNode>> it = t.get("finequant").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                int g = groupOf(e.getKey(), cols);
                double s = Math.log(e.getValue().asDouble()) / Math.log(2) + 4 + 32.0 / g;
                if (s < bestScore || (s == bestScore && g > best)) {
                    best = g;
                    bestScore = s;
                }
            }
            assertEquals(best, t.get("group_size").asInt(), t.toString());
            assertEquals(4 + 32.0 / best, t.get("bits_per_weight").asDouble(), 1e-12, t.get("name").asText());
            long n = t.get("rows").asLong() * cols;
            totalBits += (4 + 32.0 / best) * n;
            weights += n;
        }
        assertEquals(totalBits / weights, bits.json().get("bits_per_weight").asDouble(), 1e-9);

        for (JsonNode t : old.json().get("tensors")) {
            int cols = t.get("cols").asInt();
            double finest = t.get("finequant").get("32").asDouble();
            int largest = -1;
            for (Iterator<Map.Entry<String, JsonNode>> it = t.get("finequant").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getValue().asDouble() <= 1.10 * finest) {
                    largest = Math.max(largest, groupOf(e.getKey(), cols));
                }
            }
            assertEquals(largest, t.get("group_size").asInt(), t.toString());
        }
    }

    @Test
    void badGranularityOptionsAreUsageErrors() {
        String in = bert.toString();
        String out = tmp.resolve("x").toString();
        CliRun r = run("quantize", in, out, "--method", "finequant", "--granularity", "fine");
        assertEquals(ExitCode.USAGE.code(), r.code());
        assertTrue(r.err().contains("--granularity must be 'bits' or 'tolerance', not 'fine'"), r.err());
        r = run("quantize", in, out, "--method", "finequant", "--granularity", "bits", "--granularity-tolerance", "0.2");
        assertEquals(ExitCode.USAGE.code(), r.code());
        assertTrue(r.err().contains("--granularity-tolerance applies to --granularity tolerance only"), r.err());
        r = run("quantize", in, out, "--method", "finequant", "--granularity-tolerance", "-1");
        assertEquals(ExitCode.USAGE.code(), r.code());
        assertTrue(r.err().contains("--granularity-tolerance must not be negative"), r.err());
        assertTrue(Files.notExists(tmp.resolve("x")));
    }

    @Test
    void helpNamesTheDefaultRule() {
        CliRun r = run("quantize", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("'bits' (default)"), r.out());
    }
}
