package dev.slimq.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed and unsupported files fail with one-line messages naming the file. */
class TokenizerLoadTest {
    @TempDir
    Path dir;

    private TokenizerFormatException fails(String json) throws IOException {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, json);
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1, e.getMessage());
        return e;
    }

    private static final String WP_MODEL = "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,\"a\":1}}";

    @Test
    void badInput() throws IOException {
        assertEquals(Failure.BAD_INPUT, fails("{\"model\": ").failure());
        assertEquals(Failure.BAD_INPUT, fails("[1, 2]").failure());
        assertEquals(Failure.BAD_INPUT, fails("{}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"a\":1}}}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":2000000000},\"merges\":[]}}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{" + WP_MODEL + ",\"added_tokens\":[{\"id\":-3,\"content\":\"x\"}]}").failure());
        // Unigram: empty vocabulary, unk_id outside it, an entry that is not [piece, score]
        assertEquals(Failure.BAD_INPUT, fails("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{\"model\":{\"type\":\"Unigram\",\"unk_id\":1,\"vocab\":[[\"a\",-1.0]]}}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",\"x\"]]}}").failure());
        // Precompiled: no charsmap, not base64, a trie size beyond the data
        assertEquals(Failure.BAD_INPUT, fails("{" + WP_MODEL + ",\"normalizer\":{\"type\":\"Precompiled\"}}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{" + WP_MODEL + ",\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"%%\"}}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{" + WP_MODEL + ",\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"AAEAAA==\"}}").failure());
        assertEquals(Failure.BAD_INPUT, fails("{" + WP_MODEL + ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},"
                + "\"behavior\":\"Isolated\"}}").failure());
    }

    @Test
    void unsupported() throws IOException {
        assertEquals(Failure.UNSUPPORTED, fails("{\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":0},\"unk_token\":\"a\"}}").failure());
        assertEquals(Failure.UNSUPPORTED, fails("{" + WP_MODEL + ",\"normalizer\":{\"type\":\"ByteLevel\"}}").failure());
        assertEquals(Failure.UNSUPPORTED, fails("{" + WP_MODEL + ",\"decoder\":{\"type\":\"CTC\"}}").failure());
    }

    @Test
    void missingFileIsAnIoFailure() {
        SlimqException e = assertThrows(SlimqException.class, () -> Tokenizer.load(dir.resolve("absent.json")));
        assertEquals(Failure.IO, e.failure());
    }

    @Test
    void randomBytesOnlyEverFailAsFormatErrors() throws IOException {
        Random r = new Random(42);
        Path f = dir.resolve("tokenizer.json");
        String base;
        try (var in = getClass().getResourceAsStream("/tokenizer/wordpiece.json")) {
            base = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (int i = 0; i < 200; i++) {
            byte[] b = base.getBytes(StandardCharsets.UTF_8);
            for (int k = 0; k < 3; k++) {
                b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            }
            Files.write(f, b);
            try {
                Tokenizer.load(f).encode("Hello, world!", true);
            } catch (TokenizerFormatException expected) {
                // fine
            }
        }
    }
}
