package dev.slimq.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.convert.gguf.GgmlType;
import dev.slimq.convert.gguf.GgufFile;
import dev.slimq.convert.gguf.GgufTensorInfo;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.json.Json;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.testdata.SynthCharsMap;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import dev.slimq.testdata.SynthUnigram;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * XLM-RoBERTa to GGUF and back: the position table loses its first {@code pad_token_id + 1} rows (and gets
 * them back as zeros), the token-type table is written as stored, the tokenizer becomes llama.cpp's
 * {@code t5} vocabulary with the precompiled charsmap's bytes, checked against the safetensors and
 * tokenizer.json read here and the GGUF's bytes read off the file by hand.
 */
class XlmrConvertTest {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    private static ConvertService.Options toGguf(GgmlType t) {
        return new ConvertService.Options(ConvertService.Target.GGUF, Optional.of(t), Optional.empty(), false, 0, false, 2);
    }

    private static ConvertService.Options toSt() {
        return new ConvertService.Options(ConvertService.Target.SAFETENSORS, Optional.empty(), Optional.empty(), false, 0, false, 2);
    }

    private Path xlmr(String name) {
        Path in = dir.resolve(name);
        SynthUnigram.write(SynthSpec.tinyBert(), in, new SynthCheckpoint.Options(false, 1));
        SynthCharsMap.usePrecompiled(in);
        return in;
    }

    private static float[] floats(Checkpoint c, String name) {
        TensorInfo t = c.tensor(name);
        float[] x = new float[Math.toIntExact(t.elementCount())];
        try (TensorView v = c.map(name)) {
            v.readFloats(0, x, 0, x.length);
        }
        return x;
    }

    /** An F32 tensor's values straight from the file's data section (little-endian floats). */
    private static float[] rawF32(GgufFile f, String name) {
        GgufTensorInfo t = f.tensor(name).orElseThrow();
        assertEquals(GgmlType.F32, t.type(), name);
        MemorySegment s = f.data(t);
        float[] x = new float[Math.toIntExact(s.byteSize() / 4)];
        for (int i = 0; i < x.length; i++) {
            x[i] = s.getAtIndex(F32_LE, i);
        }
        return x;
    }

    private static void assertBitsEqual(float[] expected, float[] actual, int expectedFrom, String what) {
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToRawIntBits(expected[expectedFrom + i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected " + expected[expectedFrom + i]);
            }
        }
    }

    @Test
    void positionRowsPastThePaddingIndexGoInAndComeBack() throws IOException {
        Path in = xlmr("xlmr");
        Path g = dir.resolve("x.gguf");
        ConvertService.run(in, g, toGguf(GgmlType.F32));
        int hidden;
        int maxPos;
        try (Checkpoint c = Checkpoint.open(in); GgufFile f = GgufFile.open(g)) {
            JsonNode cfg = c.configJson().orElseThrow();
            hidden = cfg.get("hidden_size").asInt();
            maxPos = cfg.get("max_position_embeddings").asInt();
            assertEquals(1, cfg.get("pad_token_id").asInt());
            assertEquals("bert", f.get("general.architecture").orElseThrow().asString());
            assertEquals(maxPos - 2L, f.get("bert.context_length").orElseThrow().asLong(), "pad 1: positions start at 2");
            assertArrayEquals(new long[] {hidden, maxPos - 2}, f.tensor("position_embd.weight").orElseThrow().dims());
            float[] pos = floats(c, "embeddings.position_embeddings.weight");
            float[] gp = rawF32(f, "position_embd.weight");
            assertEquals((maxPos - 2) * hidden, gp.length);
            assertBitsEqual(pos, gp, 2 * hidden, "GGUF position row r = checkpoint row r + 2");
            // token_type table as stored (llama.cpp adds its row 0): both rows of the tiny preset.
            TensorInfo tt = c.tensor("embeddings.token_type_embeddings.weight");
            assertArrayEquals(tt.shape(), f.tensor("token_types.weight").orElseThrow().shape());
            assertBitsEqual(floats(c, "embeddings.token_type_embeddings.weight"), rawF32(f, "token_types.weight"), 0, "token_types");
            assertEquals(GgmlType.F32, f.tensor("token_types.weight").orElseThrow().type());

            // Tokenizer: first pieces and scores as tokenizer.json lists them, the mask last.
            JsonNode vocab = Json.MAPPER.readTree(in.resolve("tokenizer.json").toFile()).path("model").path("vocab");
            List<?> tokens = f.get("tokenizer.ggml.tokens").orElseThrow().asList();
            List<?> scores = f.get("tokenizer.ggml.scores").orElseThrow().asList();
            List<?> types = f.get("tokenizer.ggml.token_type").orElseThrow().asList();
            assertEquals(vocab.size(), tokens.size());
            assertEquals(List.of("<s>", "<pad>", "</s>", "<unk>"), tokens.subList(0, 4));
            for (int i = 4; i < 10; i++) {
                assertEquals(vocab.get(i).get(0).asText(), tokens.get(i), "token " + i);
                assertEquals((float) vocab.get(i).get(1).asDouble(), scores.get(i), "score " + i);
                assertEquals(1L, types.get(i), "type " + i);
            }
            assertEquals("<mask>", tokens.get(tokens.size() - 1));
            assertEquals(List.of(3L, 3L, 3L, 2L), types.subList(0, 4));
            assertEquals(3L, types.get(types.size() - 1));
            assertEquals("t5", f.get("tokenizer.ggml.model").orElseThrow().asString());
            assertEquals((long) tokens.size() - 1, f.get("tokenizer.ggml.mask_token_id").orElseThrow().asLong());
        }
        // The charsmap as gguf-py writes bytes: key, ARRAY (9), UINT8 (0), u64 count, the bytes.
        byte[] file = Files.readAllBytes(g);
        byte[] key = "tokenizer.ggml.precompiled_charsmap".getBytes(StandardCharsets.UTF_8);
        int at = indexOf(file, key);
        assertTrue(at > 8, "key not in the file");
        byte[] charsmap = SynthCharsMap.build(SynthCharsMap.XLMR_RULES);
        ByteBuffer b = ByteBuffer.wrap(file, at + key.length, 16 + charsmap.length).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(key.length, ByteBuffer.wrap(file, at - 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(), "string length before the key");
        assertEquals(9, b.getInt());
        assertEquals(0, b.getInt());
        assertEquals(charsmap.length, b.getLong());
        assertArrayEquals(charsmap, Arrays.copyOfRange(file, at + key.length + 16, at + key.length + 16 + charsmap.length));

        // Back to safetensors: an XLMRobertaModel again, position rows 0 and 1 zero, every weight bit-exact.
        Path back = dir.resolve("back");
        ConvertService.run(g, back, toSt());
        try (Checkpoint a = Checkpoint.open(in); Checkpoint r = Checkpoint.open(back)) {
            JsonNode cfg = r.configJson().orElseThrow();
            assertEquals("xlm-roberta", cfg.get("model_type").asText());
            assertEquals("XLMRobertaModel", cfg.get("architectures").get(0).asText());
            assertEquals(1, cfg.get("pad_token_id").asInt());
            assertEquals(maxPos, cfg.get("max_position_embeddings").asInt());
            assertEquals(2, cfg.get("type_vocab_size").asInt());
            float[] pos = floats(r, "embeddings.position_embeddings.weight");
            assertEquals(maxPos * hidden, pos.length);
            for (int i = 0; i < 2 * hidden; i++) {
                assertEquals(0f, pos[i]);
            }
            assertBitsEqual(floats(a, "embeddings.position_embeddings.weight"), Arrays.copyOfRange(pos, 2 * hidden, pos.length), 2 * hidden, "restored rows");
            int compared = 0;
            for (TensorInfo t : a.tensors()) {
                if (t.name().startsWith("pooler.") || t.name().equals("embeddings.position_embeddings.weight")) {
                    continue;
                }
                assertArrayEquals(t.shape(), r.tensor(t.name()).shape(), t.name());
                assertBitsEqual(floats(a, t.name()), floats(r, t.name()), 0, t.name());
                compared++;
            }
            assertEquals(compared + 1, r.tensors().size());
        }
    }

    @Test
    void quantizedPositionTableStaysF32AndShrinks() {
        Path in = xlmr("q");
        Path g = dir.resolve("q.gguf");
        ConvertService.run(in, g, toGguf(GgmlType.Q8_0));
        try (GgufFile f = GgufFile.open(g)) {
            GgufTensorInfo p = f.tensor("position_embd.weight").orElseThrow();
            assertEquals(GgmlType.F32, p.type());
            assertEquals(SynthSpec.tinyBert().shape().maxPositions() - 2L, p.shape()[0]);
            assertEquals(GgmlType.Q8_0, f.tensor("blk.0.attn_q.weight").orElseThrow().type());
        }
    }

    @Test
    void aPaddingIndexPastThePositionTableIsRefused() throws IOException {
        Path in = xlmr("bad");
        ObjectNode cfg = (ObjectNode) Json.MAPPER.readTree(in.resolve("config.json").toFile());
        int rows = cfg.get("max_position_embeddings").asInt();
        // config claims more positions than the table holds, with an offset that eats the whole table
        cfg.put("max_position_embeddings", rows * 2);
        cfg.put("pad_token_id", rows - 1);
        Files.writeString(in.resolve("config.json"), Json.python(cfg));
        Path g = dir.resolve("bad.gguf");
        SlimqException e = assertThrows(SlimqException.class, () -> ConvertService.run(in, g, toGguf(GgmlType.F16)));
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertTrue(e.getMessage().contains("position offset " + rows), e.getMessage());
        assertFalse(Files.exists(g), "nothing written");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
