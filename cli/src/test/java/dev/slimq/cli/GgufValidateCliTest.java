package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.convert.gguf.GgmlType;
import dev.slimq.convert.gguf.GgufFile;
import dev.slimq.convert.gguf.GgufTensorInfo;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.convert.gguf.GgufWriter;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code slimq validate MODEL.gguf [--reference ORIGINAL]} end to end: a generated tiny Llama converted
 * to Q4_0, Q4_1 and Q8_0 by {@code slimq convert}, validated on PoCL and the CPU backend, and the exit
 * codes of hostile and unsupported files.
 */
class GgufValidateCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;

    static Path llama;

    @TempDir
    Path tmp;

    @BeforeAll
    static void models() {
        llama = shared.resolve("tiny-llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
        for (String t : List.of("q4_0", "q4_1", "q8_0")) {
            CliRun r = run("convert", llama.toString(), gguf(t).toString(), "--to", "gguf", "--type", t, "-q");
            assertEquals(0, r.code(), r.err());
        }
    }

    static Path gguf(String type) {
        return shared.resolve("tiny-" + type + ".gguf");
    }

    /** The GGUF's Q4_0/Q4_1/Q8_0 tensor names, read straight from the file. */
    private static List<String> quantizedTensors(Path g) {
        try (GgufFile f = GgufFile.open(g)) {
            return f.tensors().stream().filter(t -> t.type() == GgmlType.Q4_0 || t.type() == GgmlType.Q4_1 || t.type() == GgmlType.Q8_0)
                    .map(GgufTensorInfo::name).toList();
        }
    }

    @Test
    void everyTypeOnPoclAndCpu() throws IOException {
        for (String device : List.of("opencl", "cpu")) {
            double[] mean = new double[3];
            int i = 0;
            for (String t : List.of("q8_0", "q4_1", "q4_0")) {
                CliRun r = run("validate", gguf(t).toString(), "--reference", llama.toString(), "--device", device, "--json", "-q");
                assertEquals(0, r.code(), device + " " + t + ": " + r.err());
                JsonNode j = r.json();
                assertEquals("GGUF", j.get("format").asText());
                assertTrue(j.get("backend").asText().startsWith(device), j.get("backend").asText());
                assertTrue(j.get("passed").asBoolean());
                List<String> names = quantizedTensors(gguf(t));
                assertEquals(names.size(), j.get("layers").size());
                double sum = 0;
                int k = 0;
                for (JsonNode l : j.get("layers")) {
                    assertEquals(names.get(k++), l.get("name").asText());
                    assertEquals("fused", l.get("kernel").asText());
                    assertTrue(l.get("kernel_rel_error").asDouble() <= 1e-5 && l.get("kernel_rel_error_heavy").asDouble() <= 1e-5, device + " " + l);
                    double out = l.get("output_rel_error").asDouble();
                    assertTrue(out > 0 && out < 0.5, device + " " + t + " " + l);
                    sum += out;
                }
                mean[i++] = sum / names.size();
            }
            assertTrue(mean[0] < mean[2] / 5, device + ": Q8_0 " + mean[0] + " vs Q4_0 " + mean[2]);
            assertTrue(mean[1] < mean[2], device + ": Q4_1 " + mean[1] + " vs Q4_0 " + mean[2]);
        }
    }

    @Test
    void humanOutputAndExitSeven() throws IOException {
        CliRun text = run("validate", gguf("q4_0").toString(), "--device", "cpu", "-q");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("(GGUF) on cpu") && text.out().contains("blk.0.attn_q.weight") && text.out().contains("all kernels agree"), text.out());
        Path report = tmp.resolve("report.json");
        CliRun strict = run("validate", gguf("q4_0").toString(), "--reference", llama.toString(), "--device", "cpu", "--max-error", "1e-6",
                "--report", report.toString(), "-q");
        assertEquals(ExitCode.QUALITY.code(), strict.code(), strict.err());
        assertTrue(strict.out().contains("OVER --max-error"), strict.out());
        assertEquals("GGUF", JSON.readTree(report.toFile()).get("format").asText());
        CliRun loose = run("validate", gguf("q8_0").toString(), "--reference", llama.toString(), "--device", "cpu", "--max-error", "0.1", "-q");
        assertEquals(0, loose.code(), loose.err() + loose.out());
    }

    private Path write(String name, GgmlType type, long[] shape, byte[] data) {
        Path f = tmp.resolve(name);
        try (GgufWriter w = GgufWriter.create(f, Map.of("general.architecture", GgufValue.string("llama")),
                List.of(new GgufWriter.Planned("blk.0.attn_q.weight", shape, type)))) {
            w.write("blk.0.attn_q.weight", ByteBuffer.wrap(data));
            w.commit();
        }
        return f;
    }

    @Test
    void hostileAndUnsupportedFiles() throws IOException {
        CliRun k = run("validate", write("k.gguf", GgmlType.Q4_K, new long[] {2, 256}, new byte[2 * 144]).toString(), "--device", "cpu", "-q");
        assertEquals(ExitCode.UNSUPPORTED.code(), k.code());
        assertTrue(k.err().contains("'blk.0.attn_q.weight' is Q4_K") && k.err().lines().count() == 1, k.err());
        CliRun f16 = run("validate", write("f16.gguf", GgmlType.F16, new long[] {2, 32}, new byte[128]).toString(), "--device", "cpu");
        assertEquals(ExitCode.UNSUPPORTED.code(), f16.code());
        assertTrue(f16.err().contains("no quantized weights"), f16.err());
        // A Q8_0 block whose f16 scale is +inf (0x7C00): every weight of it is meaningless.
        byte[] block = new byte[34];
        block[1] = 0x7C;
        CliRun inf = run("validate", write("inf.gguf", GgmlType.Q8_0, new long[] {1, 32}, block).toString(), "--device", "cpu");
        assertEquals(ExitCode.BAD_INPUT.code(), inf.code());
        assertTrue(inf.err().contains("block 0 has a non-finite scale"), inf.err());
        Path garbage = tmp.resolve("garbage.gguf");
        Files.write(garbage, "not a gguf file at all".getBytes());
        CliRun g = run("validate", garbage.toString(), "--device", "cpu");
        assertEquals(ExitCode.BAD_INPUT.code(), g.code());
        assertTrue(g.err().contains("not a valid GGUF file"), g.err());
        Path truncated = tmp.resolve("truncated.gguf");
        byte[] whole = Files.readAllBytes(gguf("q8_0"));
        Files.write(truncated, java.util.Arrays.copyOf(whole, whole.length - 1000));
        assertEquals(ExitCode.BAD_INPUT.code(), run("validate", truncated.toString(), "--device", "cpu").code());
        assertEquals(ExitCode.IO.code(), run("validate", tmp.resolve("missing.gguf").toString(), "--device", "cpu").code());
        // a reference that is not the model it was made from: the GGUF's first weight, output.weight, is lm_head.weight there
        Path bert = tmp.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
        CliRun wrong = run("validate", gguf("q8_0").toString(), "--reference", bert.toString(), "--device", "cpu");
        assertEquals(ExitCode.BAD_INPUT.code(), wrong.code());
        assertTrue(wrong.err().contains("has no tensor 'lm_head.weight' to compare with (for 'output.weight')"), wrong.err());
    }
}
