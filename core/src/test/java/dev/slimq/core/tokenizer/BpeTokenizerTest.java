package dev.slimq.core.tokenizer;

import static dev.slimq.core.tokenizer.TokenizerTestSupport.fixture;
import static dev.slimq.core.tokenizer.TokenizerTestSupport.offsets;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Byte-level BPE (GPT-2 layout) on {@code bytelevel_bpe.json} and SentencePiece-style BPE (Llama-2 /
 * Mistral layout) on {@code sentencepiece_bpe.json}. Expected ids are worked out by hand from the merge
 * ranks listed in each fixture.
 */
class BpeTokenizerTest {
    // <|endoftext|>0 Ġ1 h2 e3 l4 o5 w6 r7 d8 i9 t10 '11 s12 Ã13 ©14 Ċ15 lo16 ll17 he18 hel19 hello20
    // Ġhello21 Ġw22 or23 Ġwor24 ld25 Ġworld26 it27 's28; merges by rank: "l o" "l l" "h e" "he l"
    // "hel lo" "Ġ hello" "Ġ w" "o r" "Ġw or" "l d" "Ġwor ld" "i t" "' s"
    private final Tokenizer gpt2 = fixture("bytelevel_bpe.json");
    // <unk>0 <s>1 </s>2 <0xE2>3 <0x98>4 <0x83>5 ▁6 h7 e8 l9 o10 ll11 ▁h12 ell13 ▁hell14 ▁hello15;
    // merges by rank: [l,l] [▁,h] [e,ll] [▁h,ell] [▁hell,o]
    private final Tokenizer llama = fixture("sentencepiece_bpe.json");

    @Test
    void byteLevelSpacesBecomeGAndMergesFollowRank() {
        Encoding e = gpt2.encode(" hello world", true);
        assertEquals(List.of("Ġhello", "Ġworld"), e.tokens());
        assertArrayEquals(new int[] {21, 26}, e.ids());
        // ByteLevel post-processor trims the space out of the offsets
        assertEquals(List.of(List.of(1, 6), List.of(7, 12)), offsets(e));
        // "l o" (rank 0) before "l l" (rank 1): h e l l o -> h e l lo -> he l lo -> hel lo -> hello
        assertArrayEquals(new int[] {20, 26}, gpt2.encode("hello world", false).ids());
    }

    @Test
    void byteLevelRegexContractionsBytesAndNewlines() {
        assertArrayEquals(new int[] {27, 28}, gpt2.encode("it's", false).ids());
        // é = C3 A9 -> "Ã" "©" in bytes_to_unicode; '\n' = 0x0A -> "Ċ"
        Encoding e = gpt2.encode("é", false);
        assertEquals(List.of("Ã", "©"), e.tokens());
        assertEquals(List.of(List.of(0, 1), List.of(0, 1)), offsets(e));
        assertArrayEquals(new int[] {20, 15}, gpt2.encode("hello\n", false).ids());
    }

    @Test
    void byteLevelAddedTokensAndDecode() {
        assertArrayEquals(new int[] {20, 0}, gpt2.encode("hello<|endoftext|>", false).ids());
        assertEquals(" hello world", gpt2.decode(new int[] {21, 26}));
        assertEquals("é", gpt2.decode(new int[] {13, 14}));
        assertEquals("hello", gpt2.decode(new int[] {20, 0}));
        assertEquals("hello<|endoftext|>", gpt2.decode(new int[] {20, 0}, false));
    }

    @Test
    void metaspacePrependsOnceAndMergesByRank() {
        Encoding e = llama.encode("hello", true);
        assertArrayEquals(new int[] {1, 15}, e.ids());
        assertEquals(List.of("<s>", "▁hello"), e.tokens());
        assertEquals(List.of(List.of(0, 0), List.of(0, 5)), offsets(e));
        assertArrayEquals(new int[] {15}, llama.encode("hello", false).ids());
    }

    @Test
    void byteFallbackAndFusedUnknowns() {
        // ☃ = E2 98 83, all three byte tokens exist; λ = CE BB has none -> <unk>, two of them fused
        assertArrayEquals(new int[] {1, 15, 6, 3, 4, 5}, llama.encode("hello ☃", true).ids());
        Encoding e = llama.encode("λλ", false);
        assertArrayEquals(new int[] {6, 0}, e.ids());
        assertEquals(List.of(List.of(0, 1), List.of(0, 2)), offsets(e));
    }

    @Test
    void prependSchemeFirstOnlyAtTheStartOfTheInput() {
        // the text after </s> does not start the input: no ▁, so h + ell + o
        assertArrayEquals(new int[] {1, 2, 7, 13, 10}, llama.encode("</s>hello", true).ids());
    }

    @Test
    void sentencePieceDecodeChain() {
        assertEquals("hello ☃", llama.decode(new int[] {1, 15, 6, 3, 4, 5}));
        assertEquals("hello", llama.decode(new int[] {15}));
        assertEquals(1, llama.bosId().getAsInt());
        assertEquals(2, llama.eosId().getAsInt());
    }

    // Llama-3 layout: NFC, Split (Llama-3 regex) + ByteLevel without regex, ignore_merges, no merges at all.
    // H0 e1 l2 o3 Ġ4 w5 r6 d7 Ã8 ©9 Hello10 Ġworld11 1:12 2:13 3:14 123:15 <|begin_of_text|>16
    private final Tokenizer llama3 = fixture("llama3_bpe.json");

    @Test
    void ignoreMergesTakesWholeWordsFromTheVocabulary() {
        Encoding e = llama3.encode("Hello world", true);
        assertEquals(List.of("<|begin_of_text|>", "Hello", "Ġworld"), e.tokens());
        assertArrayEquals(new int[] {16, 10, 11}, e.ids());
        assertEquals(List.of(List.of(0, 0), List.of(0, 5), List.of(5, 11)), offsets(e), "trim_offsets false");
        // digits in groups of three; without the whole word in the vocabulary, single bytes
        assertArrayEquals(new int[] {15, 15}, llama3.encode("123123", false).ids());
        assertArrayEquals(new int[] {0, 1, 2, 2, 1}, llama3.encode("Helle", false).ids());
        assertEquals("Hello world", llama3.decode(new int[] {16, 10, 11}));
    }

    @Test
    void nfcComposesBeforeByteLevel() {
        Encoding e = llama3.encode("e\u0301", false);
        assertEquals(List.of("Ã", "©"), e.tokens());
        // the composed é takes the range of the e it starts from, as the library aligns a 2-to-1 replacement
        assertEquals(List.of(List.of(0, 1), List.of(0, 1)), offsets(e));
    }
}
