package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.convert.gguf.GgufFile;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.json.Json;
import dev.slimq.core.tensor.DType;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSentencePiece;
import dev.slimq.testdata.SynthSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimq convert} end to end for GGUF tokenizer metadata and {@code --dtype-for}. */
class GgufCliTest {
    @TempDir
    static Path shared;

    static Path llama;

    @TempDir
    Path tmp;

    @BeforeAll
    static void checkpoints() {
        llama = shared.resolve("tiny-llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
    }

    private static String str(GgufFile g, String key) {
        return g.get(key).orElseThrow(() -> new AssertionError("no " + key)).asString();
    }

    @Test
    void byteLevelAndSentencePieceTokenizers() throws IOException {
        Path a = tmp.resolve("a.gguf");
        CliRun r = run("convert", llama.toString(), a.toString(), "--to", "gguf", "-q");
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("warning"), r.err());
        try (GgufFile g = GgufFile.open(a)) {
            assertEquals("gpt2", str(g, "tokenizer.ggml.model"));
            assertEquals("gpt-2", str(g, "tokenizer.ggml.pre"), "the synthetic Llama's ByteLevel pre-tokenizer uses GPT-2's regex");
            assertTrue(g.get("tokenizer.ggml.add_bos_token").orElseThrow().asBool(), "its post-processor prepends <s>");
        }
        Path spm = tmp.resolve("spm");
        copy(llama, spm);
        SynthSentencePiece.writeInto(spm);
        Path b = tmp.resolve("b.gguf");
        r = run("convert", spm.toString(), b.toString(), "--to", "gguf", "--type", "q8_0", "-q");
        assertEquals(0, r.code(), r.err());
        try (GgufFile g = GgufFile.open(b)) {
            assertEquals("llama", str(g, "tokenizer.ggml.model"));
            assertEquals(512, g.get("tokenizer.ggml.scores").orElseThrow().asList().size());
            assertEquals("<0x0A>", g.get("tokenizer.ggml.tokens").orElseThrow().asList().get(3 + 0x0A));
            assertEquals(6L, g.get("tokenizer.ggml.token_type").orElseThrow().asList().get(3 + 0x0A), "byte pieces are type 6");
        }
    }

    @Test
    void unknownPreTokenizerWarnsAndWritesDefault() throws IOException {
        Path in = tmp.resolve("odd");
        copy(llama, in);
        ObjectNode tok = (ObjectNode) Json.MAPPER.readTree(in.resolve("tokenizer.json").toFile());
        tok.set("pre_tokenizer", Json.MAPPER.readTree("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\p{L}+\"},"
                + "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}"));
        Files.writeString(in.resolve("tokenizer.json"), Json.python(tok));
        Path out = tmp.resolve("odd.gguf");
        CliRun r = run("convert", in.toString(), out.toString(), "--to", "gguf", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("slimq: warning: tokenizer.json's pre-tokenizer"), r.err());
        assertTrue(r.err().contains("tokenizer.ggml.pre = \"default\""), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertEquals(1, j.path("warnings").size(), r.out());
        try (GgufFile g = GgufFile.open(out)) {
            assertEquals("default", str(g, "tokenizer.ggml.pre"));
        }
    }

    @Test
    void dtypeFor() {
        Path out = tmp.resolve("st");
        CliRun r = run("convert", llama.toString(), out.toString(), "--to", "safetensors", "--dtype", "f16",
                "--dtype-for", "model.embed_tokens.*=f32", "--dtype-for", "model.layers.*=bf16", "-q");
        assertEquals(0, r.code(), r.err());
        try (Checkpoint c = Checkpoint.open(out)) {
            assertEquals(DType.F32, c.tensor("model.embed_tokens.weight").dtype());
            assertEquals(DType.BF16, c.tensor("model.layers.0.mlp.up_proj.weight").dtype());
            assertEquals(DType.F16, c.tensor("lm_head.weight").dtype());
            assertEquals(DType.F16, c.tensor("model.norm.weight").dtype());
        }
        Path none = tmp.resolve("none");
        r = run("convert", llama.toString(), none.toString(), "--to", "safetensors", "--dtype-for", "encoder.*=f16");
        assertEquals(ExitCode.USAGE.code(), r.code());
        assertEquals("slimq: error: --dtype-for 'encoder.*' matches no float tensor of " + llama, r.err().strip());
        assertTrue(Files.notExists(none));
        r = run("convert", llama.toString(), tmp.resolve("x.gguf").toString(), "--to", "gguf", "--dtype-for", "*=f32");
        assertEquals(ExitCode.USAGE.code(), r.code());
        r = run("convert", llama.toString(), none.toString(), "--to", "safetensors", "--dtype-for", "model.*");
        assertEquals(ExitCode.USAGE.code(), r.code());
        assertTrue(r.err().contains("GLOB=DTYPE"), r.err());
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
    }
}
