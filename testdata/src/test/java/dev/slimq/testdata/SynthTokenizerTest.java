package dev.slimq.testdata;

import dev.slimq.core.json.Json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The tokenizer files, read back as JSON and used by tiny independent encoders written from the
 * algorithms' definitions. The expected pieces were also produced by the Python {@code tokenizers}
 * library (0.23) loading the same files.
 */
class SynthTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode tokenizerJson(SynthSpec spec) throws Exception {
        SynthTokenizer.Trained t = SynthTokenizer.train(spec.arch(), spec.shape().vocab());
        return JSON.readTree(Json.python(SynthTokenizer.tokenizerJson(t)));
    }

    /** GPT-2's bytes_to_unicode, written out again from its definition. */
    private static String byteLevel(String text) {
        StringBuilder sb = new StringBuilder();
        for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
            int b = x & 0xFF;
            if (b >= 33 && b <= 126 || b >= 161 && b <= 172 || b >= 174) {
                sb.append((char) b);
            } else {
                int shift = 0; // index of b among the non-printable bytes
                for (int k = 0; k < b; k++) {
                    if (!(k >= 33 && k <= 126 || k >= 161 && k <= 172 || k >= 174)) {
                        shift++;
                    }
                }
                sb.append((char) (256 + shift));
            }
        }
        return sb.toString();
    }

    /** BPE as in GPT-2's reference encoder: merge the lowest-ranked adjacent pair until none applies. */
    private static List<String> bpe(JsonNode model, String word) {
        Map<String, Integer> rank = new HashMap<>();
        for (JsonNode m : model.get("merges")) {
            rank.putIfAbsent(m.asText(), rank.size());
        }
        List<String> parts = new ArrayList<>();
        word.chars().forEach(c -> parts.add(String.valueOf((char) c)));
        while (true) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                int r = rank.getOrDefault(parts.get(i) + " " + parts.get(i + 1), Integer.MAX_VALUE);
                if (r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) {
                return parts;
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
    }

    /** WordPiece: greedy longest match from the left, "##" on continuations. */
    private static List<String> wordPiece(JsonNode vocab, String word) {
        List<String> out = new ArrayList<>();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            String piece = null;
            while (end > start) {
                String cand = (start > 0 ? "##" : "") + word.substring(start, end);
                if (vocab.has(cand)) {
                    piece = cand;
                    break;
                }
                end--;
            }
            if (piece == null) {
                return List.of("[UNK]");
            }
            out.add(piece);
            start = end;
        }
        return out;
    }

    @Test
    void byteLevelBpeEncodesWordsIntoKnownPieces() throws Exception {
        JsonNode tok = tokenizerJson(SynthSpec.tinyLlama());
        JsonNode model = tok.get("model");
        assertEquals("BPE", model.get("type").asText());
        assertEquals("ByteLevel", tok.get("pre_tokenizer").get("type").asText());
        assertEquals(List.of("Ġh", "ar", "b", "or"), bpe(model, byteLevel(" harbor")));
        assertEquals(List.of("Ġtow", "n"), bpe(model, byteLevel(" town")));
        assertEquals(List.of("Ġm", "or", "ning", "s"), bpe(model, byteLevel(" mornings")));
        assertEquals(List.of("The"), bpe(model, byteLevel("The")));
        // Not in the corpus, and not ASCII: still encodable, byte by byte at worst.
        List<String> cafe = bpe(model, byteLevel(" café"));
        assertEquals(byteLevel(" café"), String.join("", cafe));
        for (String piece : cafe) {
            assertTrue(model.get("vocab").has(piece), piece);
        }
    }

    @Test
    void everyMergeProducesAVocabularyEntry() throws Exception {
        JsonNode model = tokenizerJson(SynthSpec.tinyLlama()).get("model");
        JsonNode vocab = model.get("vocab");
        assertEquals(512, vocab.size());
        assertEquals(List.of(0, 1, 2), List.of(vocab.get("<unk>").asInt(), vocab.get("<s>").asInt(), vocab.get("</s>").asInt()));
        assertEquals(3 + ' ', vocab.get("Ġ").asInt(), "byte symbols at 3 + byte value");
        for (JsonNode m : model.get("merges")) {
            String[] lr = m.asText().split(" ");
            assertEquals(2, lr.length);
            assertTrue(vocab.has(lr[0]) && vocab.has(lr[1]) && vocab.has(lr[0] + lr[1]), m.asText());
        }
    }

    @Test
    void largeVocabulariesArePaddedWithInertEntries() {
        SynthTokenizer.Trained t = SynthTokenizer.train(SynthSpec.Arch.LLAMA, 32000);
        assertEquals(32000, t.size());
        int first = t.vocab().indexOf("<|reserved_0|>");
        assertTrue(first > 259 + 1000, "the corpus yields over a thousand merges first: " + first);
        for (int id = first; id < t.size(); id++) {
            assertEquals("<|reserved_" + (id - first) + "|>", t.vocab().get(id));
        }
        assertEquals(t.size(), t.vocab().stream().distinct().count(), "no token twice");
    }

    @Test
    void wordPieceEncodesWordsIntoKnownPieces() throws Exception {
        JsonNode tok = tokenizerJson(SynthSpec.tinyBert());
        JsonNode model = tok.get("model");
        assertEquals("WordPiece", model.get("type").asText());
        assertEquals("BertNormalizer", tok.get("normalizer").get("type").asText());
        JsonNode vocab = model.get("vocab");
        assertEquals(1024, vocab.size());
        assertEquals(List.of(0, 1, 2, 3, 4), List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]").stream()
                .map(s -> vocab.get(s).asInt()).toList());
        assertEquals(List.of("harbor"), wordPiece(vocab, "harbor"));
        assertEquals(List.of("morning", "##s"), wordPiece(vocab, "mornings"));
        assertEquals(List.of("quant", "##iz", "##ation"), wordPiece(vocab, "quantization"));
        assertTrue(wordPiece(vocab, "zyxwvut").stream().allMatch(vocab::has), "any ASCII word avoids [UNK]");
    }
}
