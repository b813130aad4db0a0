package dev.slimq.core.tokenizer;

import static dev.slimq.core.tokenizer.TokenizerTestSupport.fixture;
import static dev.slimq.core.tokenizer.TokenizerTestSupport.offsets;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * BERT-style WordPiece on {@code wordpiece.json}: vocab ids [PAD]0 [UNK]1 [CLS]2 [SEP]3 [MASK]4 un5
 * ##aff6 ##able7 hello8 world9 ,10 !11 .12 ##a13 ##ff14 a15 中16 文17 long18 ##long19, BertNormalizer
 * (lowercase, strip_accents null), max_input_chars_per_word 10. Expected ids are worked out by hand.
 */
class WordPieceTokenizerTest {
    private final Tokenizer tok = fixture("wordpiece.json");

    @Test
    void greedyLongestMatchFirstWithPrefix() {
        Encoding e = tok.encode("unaffable", true);
        assertArrayEquals(new int[] {2, 5, 6, 7, 3}, e.ids());
        assertEquals(List.of("[CLS]", "un", "##aff", "##able", "[SEP]"), e.tokens());
        assertEquals(List.of(List.of(0, 0), List.of(0, 2), List.of(2, 5), List.of(5, 9), List.of(0, 0)), offsets(e));
        assertArrayEquals(new int[] {1, 1, 1, 1, 1}, e.attentionMask());
        assertArrayEquals(new int[] {1, 0, 0, 0, 1}, e.specialTokensMask());
        assertArrayEquals(new int[] {0, 0, 0, 0, 0}, e.typeIds());
    }

    @Test
    void lowercasesStripsAccentsAndSplitsPunctuation() {
        Encoding e = tok.encode("Héllo, World!", true);
        assertArrayEquals(new int[] {2, 8, 10, 9, 11, 3}, e.ids());
        assertEquals(List.of(List.of(0, 0), List.of(0, 5), List.of(5, 6), List.of(7, 12), List.of(12, 13),
                List.of(0, 0)), offsets(e));
        // decomposed input: e + U+0301; the mark goes, the offsets still cover it
        Encoding d = tok.encode("He\u0301llo", false);
        assertArrayEquals(new int[] {8}, d.ids());
        assertEquals(List.of(List.of(0, 6)), offsets(d));
    }

    @Test
    void punctuationAsRustDefinesIt() {
        assertArrayEquals(new int[] {8, 10, 9, 12}, tok.encode("hello,world.", false).ids());
        // '$' is a symbol (Sc) but ASCII punctuation; '¿' is Po: both split off, both unknown here
        assertArrayEquals(new int[] {8, 1, 9}, tok.encode("hello$world", false).ids());
        assertArrayEquals(new int[] {8, 1}, tok.encode("hello¿", false).ids());
    }

    @Test
    void cleanTextAndUnicodeWhitespace() {
        // soft hyphen (Cf) is removed; U+00A0 is White_Space (though not Character.isWhitespace)
        Encoding e = tok.encode("hel\u00ADlo", false);
        assertArrayEquals(new int[] {8}, e.ids());
        assertEquals(List.of(List.of(0, 6)), offsets(e));
        assertArrayEquals(new int[] {8, 9}, tok.encode("hello\u00A0world", false).ids());
        assertArrayEquals(new int[] {8, 9}, tok.encode("\thello\n\r world ", false).ids());
    }

    @Test
    void chineseCharactersStandAlone() {
        assertArrayEquals(new int[] {16, 17}, tok.encode("中文", false).ids());
    }

    @Test
    void unknownWordsAndOverlongWords() {
        assertArrayEquals(new int[] {2, 1, 3}, tok.encode("xyz", true).ids());
        // a word with an unknown piece is one [UNK], not a partial split
        assertArrayEquals(new int[] {1}, tok.encode("unx", false).ids());
        assertArrayEquals(new int[] {18, 19}, tok.encode("longlong", false).ids());
        assertArrayEquals(new int[] {1}, tok.encode("longlonglong", false).ids(), "12 chars > 10");
    }

    @Test
    void specialTokensAreSplitOutBeforeNormalization() {
        Encoding e = tok.encode("hello [MASK] world", true);
        assertArrayEquals(new int[] {2, 8, 4, 9, 3}, e.ids());
        assertEquals(List.of(6, 12), offsets(e).get(2));
        // not lowercased into a miss, not split at the brackets
        assertArrayEquals(new int[] {8, 4}, tok.encode("HELLO[MASK]", false).ids());
    }

    @Test
    void withoutSpecialTokens() {
        assertArrayEquals(new int[] {8}, tok.encode("hello", false).ids());
        assertEquals(0, tok.encode("", false).size());
        assertArrayEquals(new int[] {2, 3}, tok.encode("", true).ids());
    }

    @Test
    void decodeJoinsPiecesAndCleansUp() {
        assertEquals("unaffable", tok.decode(new int[] {2, 5, 6, 7, 3}));
        assertEquals("hello, world!", tok.decode(new int[] {8, 10, 9, 11}));
        assertEquals("[CLS] hello [SEP]", tok.decode(new int[] {2, 8, 3}, false));
    }

    @Test
    void vocabularyAndSpecialIds() {
        assertEquals(20, tok.vocabSize());
        assertEquals("WordPiece", tok.modelType());
        assertEquals(OptionalInt.of(6), tok.tokenToId("##aff"));
        assertEquals("##able", tok.idToToken(7));
        assertEquals(null, tok.idToToken(20));
        assertEquals(OptionalInt.of(2), tok.clsId());
        assertEquals(OptionalInt.of(3), tok.sepId());
        assertEquals(OptionalInt.of(0), tok.padId());
        assertEquals(OptionalInt.of(1), tok.unkId());
        assertEquals(OptionalInt.of(4), tok.maskId());
        assertTrue(tok.bosId().isEmpty());
        assertEquals(5, tok.addedTokens().size());
        assertTrue(tok.addedTokens().stream().allMatch(AddedToken::special));
        assertTrue(tok.isSpecial(4) && !tok.isSpecial(8));
    }
}
