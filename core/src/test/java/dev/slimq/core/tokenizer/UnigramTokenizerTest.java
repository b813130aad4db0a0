package dev.slimq.core.tokenizer;

import static dev.slimq.core.tokenizer.TokenizerTestSupport.fixture;
import static dev.slimq.core.tokenizer.TokenizerTestSupport.offsets;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Unigram model on hand-built tokenizer.json files, against segmentations computed by hand from the
 * scores (each case's lattice is worked out in its comment). {@code unigram.json} is XLM-R's layout:
 * Precompiled + Replace(" {2,}") normalizer, Metaspace (always, split), {@code <s> $A </s>}, Metaspace
 * decoder, {@code <mask>} added with lstrip. Its scores: "▁" -2, "▁the" -1.5, "▁t" -3, h -3, e -3, t -3.5,
 * he -2.5, "▁he" -2.25, llo -2, l -4, o -4, "▁hello" -4.125, "▁cat" -3, s -3, "▁cats" -6.5 (the minimum,
 * so an unknown character costs -16.5), x -1, y -1, xy -2, fi -2, and -5 for A f i 1 é カ ガ Q X U+3099.
 */
class UnigramTokenizerTest {
    /** The rules of unigram.json's precompiled_charsmap. */
    static final Map<String, String> RULES = rules();

    @TempDir
    Path tmp;

    private static Map<String, String> rules() {
        Map<String, String> r = new LinkedHashMap<>();
        r.put("\uFF21", "A");
        r.put("\uFB01", "fi");
        r.put("\u2460", "1");
        r.put("e\u0301", "\u00E9");
        r.put("\u00A0", " ");
        r.put("\uFF76", "\u30AB");
        r.put("\uFF76\uFF9E", "\u30AC");
        r.put("\uFF9E", "\u3099");
        r.put("\u200B", "");
        r.put("q", "Q");
        r.put("q\u0301", "X");
        r.put("\t", " ");
        return r;
    }

    @Test
    void fixtureCharsmapIsTheBuildersOutput() throws Exception {
        JsonNode root = Json.MAPPER.readTree(TokenizerTestSupport.class.getResource("/tokenizer/unigram.json"));
        assertEquals(CharsMapBuilder.buildBase64(RULES),
                root.path("normalizer").path("normalizers").get(0).path("precompiled_charsmap").asText());
    }

    @Test
    void viterbiPicksTheBestTotalScore() {
        Tokenizer t = fixture("unigram.json");
        assertEquals("Unigram", t.modelType());
        // "▁the": ▁the -1.5 beats ▁t+he -5.5 and ▁+t+he -8.
        // "▁hello": ▁hello -4.125 beats ▁he+llo -4.25.
        // "▁cats": ▁cat+s -6 beats ▁cats -6.5 (and c, a are unknown: -16.5 each).
        Encoding e = t.encode("the hello cats", true);
        assertArrayEquals(new int[] {0, 5, 15, 16, 17, 2}, e.ids());
        assertEquals(List.of("<s>", "\u2581the", "\u2581hello", "\u2581cat", "s", "</s>"), e.tokens());
        assertEquals(List.of(List.of(0, 0), List.of(0, 3), List.of(3, 9), List.of(9, 13), List.of(13, 14), List.of(0, 0)),
                offsets(e));
        assertEquals("the hello cats", t.decode(e.ids()));
    }

    @Test
    void tiesGoToTheEarliestStart() {
        // "▁xy": ▁+xy = -2-2 = -4 and ▁+x+y = -2-1-1 = -4; the path ending at y is found from start 1 (xy)
        // before start 2 (y), and an equal score does not replace it.
        assertArrayEquals(new int[] {4, 21}, fixture("unigram.json").encode("xy", false).ids());
    }

    @Test
    void unknownCharactersFuseIntoOneUnk() {
        // z, ☃, z have no piece: three unknown nodes (-16.5 each) fused into one <unk> whose text is "z☃z";
        // the astral 😀 likewise, its offsets in UTF-16 units.
        Tokenizer t = fixture("unigram.json");
        Encoding e = t.encode("z\u2603z", false);
        assertArrayEquals(new int[] {4, 3}, e.ids());
        assertEquals(List.of("\u2581", "z\u2603z"), e.tokens());
        assertEquals(List.of(List.of(0, 1), List.of(0, 3)), offsets(e));
        Encoding astral = t.encode("x\uD83D\uDE00\uD83D\uDE00", false);
        assertArrayEquals(new int[] {4, 19, 3}, astral.ids());
        assertEquals(List.of(List.of(0, 1), List.of(0, 1), List.of(1, 5)), offsets(astral));
        assertEquals(3, t.unkId().orElseThrow());
    }

    @Test
    void precompiledRulesAndTheReplaceAfterThem() {
        Tokenizer t = fixture("unigram.json");
        // Ａﬁ① -> "Afi1"; ▁ A fi 1 (fi -2 beats f+i -10)
        assertArrayEquals(new int[] {4, 22, 23, 26}, t.encode("\uFF21\uFB01\u2460", false).ids());
        // e + combining acute: one grapheme cluster, its two-character rule gives é
        assertArrayEquals(new int[] {4, 27}, t.encode("e\u0301", false).ids());
        // q + combining acute: the cluster's first (shortest) matching key is "q", so the whole cluster
        // becomes "Q", as Hugging Face's spm_precompiled does it (SentencePiece itself would take "X")
        assertArrayEquals(new int[] {4, 30}, t.encode("q\u0301", false).ids());
        // halfwidth ｶﾞ is one 6-byte cluster, too long to look up whole: ｶ -> カ, ﾞ -> U+3099
        assertArrayEquals(new int[] {4, 28, 32}, t.encode("\uFF76\uFF9E", false).ids());
        // three no-break spaces -> three spaces -> Replace(" {2,}") -> one: ▁x ▁y
        assertArrayEquals(new int[] {4, 19, 4, 20}, t.encode("x\u00A0\u00A0\u00A0y", false).ids());
        // the zero-width space is deleted: "xy"
        assertArrayEquals(new int[] {4, 21}, t.encode("x\u200By", false).ids());
        // <mask> (lstrip) swallows the space before it
        assertArrayEquals(new int[] {0, 4, 19, 33, 2}, t.encode("x <mask>", true).ids());
    }

    @Test
    void charsmapLookup() {
        PrecompiledCharsMap m = PrecompiledCharsMap.parse(CharsMapBuilder.build(RULES));
        assertEquals("fi", m.transform("\uFB01".getBytes(StandardCharsets.UTF_8)));
        assertEquals("", m.transform("\u200B".getBytes(StandardCharsets.UTF_8)));
        assertEquals("\u30AB", m.transform("\uFF76".getBytes(StandardCharsets.UTF_8)));
        assertEquals("\u00E9", m.transform("e\u0301".getBytes(StandardCharsets.UTF_8)));
        assertNull(m.transform("e".getBytes(StandardCharsets.UTF_8)), "a key's proper prefix is no key");
        assertNull(m.transform("z".getBytes(StandardCharsets.UTF_8)));
        assertEquals("Q", m.transform("q\u0301".getBytes(StandardCharsets.UTF_8)), "first match wins");
        assertNull(m.transform(new byte[] {0, 'q'}), "a NUL byte ends the key");
        // replacement offsets beyond the strings: a BAD_INPUT error, not an exception from an array
        byte[] raw = CharsMapBuilder.build(Map.of("a", "b", "c", "d"));
        raw = java.util.Arrays.copyOf(raw, raw.length - 4); // cut "b\0d\0" off: "c" points at byte 2 of 0
        PrecompiledCharsMap cut = PrecompiledCharsMap.parse(raw);
        assertEquals(Failure.BAD_INPUT, assertThrows(SlimqException.class, () -> cut.transform(new byte[] {'c'})).failure());
    }

    @Test
    void nmtNormalizer() {
        Piece p = new Normalizer.Nmt().normalize(Piece.of("a\u0001b\tc\u200Bd\u2581e\u007F"));
        assertEquals("ab c d e", p.text());
    }

    @Test
    void byteFallbackSpellsUnknownsInBytes() throws IOException {
        Path p = tmp.resolve("bf.json");
        Files.writeString(p, byteFallbackJson("always"));
        Tokenizer t = Tokenizer.load(p);
        // ☃ = E2 98 83, all three byte pieces exist: <0xE2> <0x98> <0x83>, each spanning the ☃
        Encoding e = t.encode("a\u2603", false);
        assertArrayEquals(new int[] {3, 6, 7, 8}, e.ids());
        assertEquals(List.of("\u2581a", "<0xE2>", "<0x98>", "<0x83>"), e.tokens());
        assertEquals(List.of(List.of(0, 1), List.of(1, 2), List.of(1, 2), List.of(1, 2)), offsets(e));
        // ☃ and z fuse into one unknown "☃z"; <0x7A> does not exist, so the whole run is <unk>
        assertArrayEquals(new int[] {3, 2, 1}, t.encode("a\u2603z", true).ids());
        assertEquals("a\u2603", t.decode(t.encode("a\u2603", true).ids()));
    }

    @Test
    void noUnkIdAndAnUnknownCharacterIsABadInputError() throws IOException {
        Path p = tmp.resolve("nounk.json");
        Files.writeString(p, "{\"model\":{\"type\":\"Unigram\",\"unk_id\":null,\"vocab\":[[\"a\",-1.0]]}}");
        Tokenizer t = Tokenizer.load(p);
        assertArrayEquals(new int[] {0, 0}, t.encodeIds("aa"));
        assertEquals(Failure.BAD_INPUT, assertThrows(SlimqException.class, () -> t.encodeIds("ab")).failure());
    }

    @Test
    void t5StyleNormalizers() throws IOException {
        Path p = tmp.resolve("t5.json");
        Files.writeString(p, t5StyleJson());
        Tokenizer t = Tokenizer.load(p);
        // Nmt: tab -> space; NFKC: ﬁ -> fi; Lowercase; Strip; WhitespaceSplit then Metaspace
        Encoding e = t.encode("  THE\tﬁ  ", true);
        assertEquals(List.of("\u2581the", "\u2581", "fi", "</s>"), e.tokens());
    }

    /**
     * A T5/Llama-style byte-fallback Unigram: {@code $A </s>}, Metaspace with {@code prependScheme}
     * ("always", "first", "never", or "always-nosplit" for split false), decoder ByteFallback then
     * Metaspace. Ids: <pad> 0, </s> 1, <unk> 2, ▁a 3, ▁ 4, a 5, <0xE2> 6, <0x98> 7, <0x83> 8, then pieces.
     */
    static String byteFallbackJson(String variant) {
        String scheme = variant.startsWith("always") ? "always" : variant;
        boolean split = !variant.endsWith("nosplit");
        return """
                {"version":"1.0","truncation":null,"padding":null,
                 "added_tokens":[
                  {"id":0,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                  {"id":1,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                  {"id":2,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
                 "normalizer":null,
                 "pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"%s","split":%s},
                 "post_processor":{"type":"TemplateProcessing",
                   "single":[{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],
                   "pair":[{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}},
                           {"Sequence":{"id":"B","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],
                   "special_tokens":{"</s>":{"id":"</s>","ids":[1],"tokens":["</s>"]}}},
                 "decoder":{"type":"Sequence","decoders":[{"type":"ByteFallback"},
                   {"type":"Metaspace","replacement":"\u2581","prepend_scheme":"%s","split":%s}]},
                 "model":{"type":"Unigram","unk_id":2,"byte_fallback":true,"vocab":[
                  ["<pad>",0.0],["</s>",0.0],["<unk>",0.0],["\u2581a",-1.5],["\u2581",-2.0],["a",-3.0],
                  ["<0xE2>",-9.0],["<0x98>",-9.0],["<0x83>",-9.0],["<0xF0>",-9.0],["<0x9F>",-9.0],["<0x7B>",-9.5],
                  ["<0x80>",-9.0],["\u2581the",-1.0],["the",-2.5],["h",-4.0],["e",-4.0],["t",-4.0],["\u2581c",-3.0],
                  ["at",-2.0],["s",-3.0],["\u2581hello",-3.0],["x",-2.0],["y",-2.0],["\u2581x",-2.5],["xy",-3.5],
                  ["\u2581\u2581",-1.0],["l",-5.0],["o",-5.0]]}}
                """.formatted(scheme, split, scheme, split);
    }

    /** ALBERT/T5-like: Nmt, NFKC, Replace, Lowercase, Strip; WhitespaceSplit then Metaspace; {@code $A </s>}. */
    static String t5StyleJson() {
        return """
                {"version":"1.0","truncation":null,"padding":null,
                 "added_tokens":[
                  {"id":0,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                  {"id":1,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                  {"id":2,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
                 "normalizer":{"type":"Sequence","normalizers":[{"type":"Nmt"},{"type":"NFKC"},
                   {"type":"Replace","pattern":{"String":"``"},"content":"\\""},{"type":"Lowercase"},
                   {"type":"Replace","pattern":{"Regex":" {2,}"},"content":" "},
                   {"type":"Strip","strip_left":true,"strip_right":true}]},
                 "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},
                   {"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always","split":true}]},
                 "post_processor":{"type":"TemplateProcessing",
                   "single":[{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],
                   "pair":[{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}},
                           {"Sequence":{"id":"B","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],
                   "special_tokens":{"</s>":{"id":"</s>","ids":[1],"tokens":["</s>"]}}},
                 "decoder":{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always","split":true},
                 "model":{"type":"Unigram","unk_id":2,"byte_fallback":false,"vocab":[
                  ["<pad>",0.0],["</s>",0.0],["<unk>",0.0],["\u2581the",-1.0],["\u2581",-2.0],["fi",-2.0],["f",-4.0],
                  ["i",-4.0],["the",-2.5],["t",-4.0],["h",-4.0],["e",-4.0],["\u2581hello",-3.0],["\u2581cat",-3.0],
                  ["s",-3.0],["x",-2.0],["y",-2.0],["\\"",-3.0],["l",-5.0],["o",-5.0],["\u2581x",-2.5]]}}
                """;
    }
}
