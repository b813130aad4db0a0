package dev.slimq.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real SentencePiece Unigram model against two independent implementations. The fixture
 * ({@code sentencepiece_unigram.json.gz}) was made outside the build: Google's {@code spm_train} 0.1.97
 * (Debian's sentencepiece package) trained a 400-piece unigram model with the default {@code nmt_nfkc}
 * normalization on testdata's corpus plus two lines of full-width, ligature, accented, katakana, CJK and
 * typographic text; its pieces, scores and real 237 KB precompiled_charsmap were written into XLM-R's
 * tokenizer.json layout. The expected ids are what SentencePiece's own C++ encoder returned for each text
 * ({@code SentencePieceProcessor.encode}, unk id 0), so the Viterbi pass and the charsmap lookup are
 * checked against Google's code; Hugging Face tokenizers (through DJL) is compared on the same texts and
 * on the whitespace cases where XLM-R's Replace normalizer and SentencePiece's own whitespace handling
 * part ways.
 */
class SentencePieceReferenceTest {
    private static final List<Map.Entry<String, int[]>> SPM = List.of(
            Map.entry("The harbor town woke slowly on cold mornings.", new int[] {48, 277, 237, 138, 12, 58, 278, 3, 4, 160, 197, 77, 70, 73, 220, 4, 9}),
            Map.entry("Nobody in the town remembered exactly when the lighthouse had been built.", new int[] {3, 385, 279, 17, 11, 16, 25, 5, 138, 12, 3, 19, 23, 13, 23, 75, 21, 15, 297, 56, 12, 5, 84, 334, 45, 11, 31, 37, 97, 28, 192, 8, 9}),
            Map.entry("\uFF26\uFF55\uFF4C\uFF4C\uFF57\uFF49\uFF44\uFF54\uFF48 \uFF21\uFF22\uFF23 \uFF46\uFF49\uFF4C\uFF45 and \uFB01le", new int[] {3, 391, 28, 110, 59, 29, 11, 71, 49, 354, 276, 114, 35, 3, 7, 114, 35}),
            Map.entry("\u2460 \u2461 \u2462 caf\u00E9 na\u00EFve r\u00E9sum\u00E9 \u00C5ngstr\u00F6m", new int[] {3, 166, 3, 357, 3, 290, 38, 44, 211, 3, 12, 22, 365, 47, 3, 14, 211, 4, 28, 23, 211, 3, 355, 12, 399, 24, 14, 366, 23}),
            Map.entry("cafe\u0301 re\u0301sume\u0301", new int[] {38, 44, 211, 3, 14, 211, 4, 28, 23, 211}),
            Map.entry("Stra\u00DFe \u201Cquoted\u201D \u2018single\u2019 \u2014 dash \u2026 ellipsis", new int[] {3, 393, 8, 14, 22, 364, 13, 3, 369, 397, 28, 17, 8, 15, 370, 3, 381, 4, 18, 35, 368, 3, 367, 3, 11, 22, 4, 111, 3, 9, 9, 9, 3, 13, 110, 265, 26}),
            Map.entry("snow \u2603 check \u2713 smile \uD83D\uDE00 end", new int[] {323, 3, 0, 36, 83, 100, 3, 0, 3, 4, 23, 29, 35, 3, 0, 3, 37, 11}),
            Map.entry("tab\u0009separated\u00A0words", new int[] {3, 8, 22, 75, 3, 4, 13, 33, 22, 14, 39, 15, 205, 11, 4}),
            Map.entry("zero\u200Bwidth and \u2122 \u00BD \u338F \uFB00", new int[] {3, 207, 21, 17, 58, 29, 11, 71, 3, 7, 3, 396, 386, 3, 166, 0, 357, 3, 127, 399, 57, 44}),
            Map.entry("UPPER lower MiXeD 12345 67.89%", new int[] {3, 0, 389, 389, 387, 388, 3, 160, 21, 3, 386, 29, 0, 13, 384, 3, 166, 357, 290, 0, 358, 3, 359, 0, 9, 360, 361, 0}));

    @TempDir
    Path tmp;

    private Path fixture() throws IOException {
        Path p = tmp.resolve("tokenizer.json");
        try (InputStream in = new GZIPInputStream(SentencePieceReferenceTest.class.getResourceAsStream(
                "/tokenizer/sentencepiece_unigram.json.gz"))) {
            Files.write(p, in.readAllBytes());
        }
        return p;
    }

    @Test
    void idsAreSentencePiecesOwn() throws IOException {
        Tokenizer t = Tokenizer.load(fixture());
        assertEquals(400, t.vocabSize());
        for (Map.Entry<String, int[]> c : SPM) {
            assertArrayEquals(c.getValue(), t.encode(c.getKey(), false).ids(), c.getKey() + " -> " + t.encode(c.getKey(), false).tokens());
        }
    }

    /**
     * Where Hugging Face (and so slimq) and SentencePiece differ: halfwidth ｶﾞ is one grapheme cluster of
     * 6 UTF-8 bytes, which the library's Precompiled normalizer does not look up whole (only clusters under
     * 6 bytes), so each character maps alone: カ + U+3099, pieces this vocabulary lacks, fused into one
     * unknown. SentencePiece matches the two-character rule ｶﾞ -> ガ and returns ガ ギ (374, 375).
     */
    @Test
    void halfwidthVoicedKanaFollowHuggingFaceNotSentencePiece() throws IOException {
        Tokenizer t = Tokenizer.load(fixture());
        Encoding e = t.encode("\uFF76\uFF9E\uFF77\uFF9E \uFF71\uFF72\uFF73", false);
        assertArrayEquals(new int[] {3, 0, 3, 371, 372, 373}, e.ids());
        assertEquals("\u30AB\u3099\u30AD\u3099", e.tokens().get(1));
    }

    @Test
    void huggingFaceAgreesIncludingWhitespaceCases() throws IOException {
        Path p = fixture();
        Tokenizer t = Tokenizer.load(p);
        List<String> extra = List.of("  leading and trailing  ", "many     spaces\t\there", "", " ", "e\u0301\u0301",
                "\uFF76\uFF9E\uFF9F", "\uFF76\uFF9E\uFF77\uFF9E \uFF71\uFF72\uFF73 \u6771\u4EAC", "\u3000ideographic\u3000space", "line\nbreaks\r\nhere");
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(p, Map.of("addSpecialTokens", "true",
                "truncation", "false", "padding", "false"))) {
            for (String text : java.util.stream.Stream.concat(SPM.stream().map(Map.Entry::getKey), extra.stream()).toList()) {
                ai.djl.huggingface.tokenizers.Encoding ref = hf.encode(text);
                Encoding got = t.encode(text, true);
                assertEquals(Arrays.toString(ref.getIds()), Arrays.toString(Arrays.stream(got.ids()).asLongStream().toArray()),
                        text + " -> " + got.tokens());
                assertEquals(Arrays.asList(ref.getTokens()), got.tokens(), text);
                assertEquals(hf.decode(ref.getIds(), true), t.decode(got.ids()), text);
            }
        }
    }
}
