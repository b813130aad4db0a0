package dev.slimq.core.tokenizer;

import static dev.slimq.core.tokenizer.TokenizerTestSupport.fixture;
import static dev.slimq.core.tokenizer.TokenizerTestSupport.offsets;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Added-token extraction on {@code added_tokens.json}, the case of {@code options_use_cases} in
 * {@code tokenizers/src/tokenizer/added_vocabulary.rs}: "my" (normalized, lstrip, rstrip) 0, "name" 1,
 * "ony" (single_word) 2, [CLS] 3 and [SEP] 4 (special, raw); Lowercase normalizer; WordPiece vocab
 * is5 anthony6 [UNK]7 a8 ##nth9. The library splits "[CLS] My name is Anthony [SEP]" into [CLS] | " my " |
 * name | " is anthony " | [SEP].
 */
class AddedTokensTokenizerTest {
    private final Tokenizer tok = fixture("added_tokens.json");

    @Test
    void lstripRstripNormalizedAndSingleWord() {
        Encoding e = tok.encode("[CLS] My name is Anthony [SEP]", false);
        assertEquals(List.of("[CLS]", " my ", "name", "is", "anthony", "[SEP]"), e.tokens());
        assertArrayEquals(new int[] {3, 0, 1, 5, 6, 4}, e.ids());
        assertEquals(List.of(List.of(0, 5), List.of(5, 9), List.of(9, 13), List.of(14, 16), List.of(17, 24),
                List.of(25, 30)), offsets(e));
    }

    @Test
    void singleWordMatchesStandingAlone() {
        assertArrayEquals(new int[] {5, 2}, tok.encode("is ony", false).ids());
        // inside a word "ony" is not extracted: the model sees "anthony"
        assertArrayEquals(new int[] {6}, tok.encode("Anthony", false).ids());
    }

    @Test
    void rawSpecialTokensAreCaseSensitive() {
        // [cls] is not the raw [CLS]; it goes to the model, which does not know it
        assertArrayEquals(new int[] {7}, tok.encode("[cls]", false).ids());
    }
}
