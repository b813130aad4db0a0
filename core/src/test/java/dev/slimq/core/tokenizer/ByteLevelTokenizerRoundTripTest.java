package dev.slimq.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.json.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** Byte-level BPE over all 256 byte symbols loses nothing: decode(encode(s)) == s, offsets in bounds. */
class ByteLevelTokenizerRoundTripTest {
    private static final Tokenizer TOK = build();

    private static Tokenizer build() {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel").put("add_prefix_space", false);
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(new String(Character.toChars(Chars.BYTE_TO_CHAR[b])), b);
        }
        vocab.put("Ġt", 256).put("he", 257).put("Ġthe", 258);
        ArrayNode merges = model.putArray("merges");
        merges.add("Ġ t").add("h e").add("Ġt he");
        try {
            Path f = Files.createTempFile("bytelevel", ".json");
            Files.writeString(f, root.toString());
            f.toFile().deleteOnExit();
            return Tokenizer.load(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Property(tries = 300)
    void decodeInvertsEncode(@ForAll String s) {
        if (s.codePoints().anyMatch(c -> c >= 0xD800 && c <= 0xDFFF)) {
            return; // lone surrogates have no UTF-8 form
        }
        Encoding e = TOK.encode(s, true);
        assertEquals(s, TOK.decode(e.ids()));
        for (int i = 0; i < e.size(); i++) {
            assertTrue(0 <= e.starts()[i] && e.starts()[i] <= e.ends()[i] && e.ends()[i] <= s.length());
        }
    }

    @Property(tries = 50)
    void mergesApplyAtTheStartOfAWord(@ForAll("words") String w) {
        assertEquals(258, TOK.encode(" the" + w, false).ids()[0]);
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> words() {
        return net.jqwik.api.Arbitraries.strings().alpha().ofMaxLength(5);
    }
}
