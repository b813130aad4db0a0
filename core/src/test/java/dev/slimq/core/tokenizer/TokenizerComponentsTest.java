package dev.slimq.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Pre-tokenizer and decoder pieces against the splits the Rust library's own tests and docs give. */
class TokenizerComponentsTest {
    private static List<String> texts(List<Piece> pieces) {
        return pieces.stream().map(Piece::text).toList();
    }

    @Test
    void gpt2RegexKeepsTheLastSpaceForTheNextWord() {
        List<Piece> p = PreTokenizer.splitOn(Piece.of("Hello  world!?"), PreTokenizer.GPT2,
                PreTokenizer.Behavior.ISOLATED, false);
        assertEquals(List.of("Hello", " ", " world", "!?"), texts(p));
    }

    @Test
    void llama3SplitRegexGroupsDigitsByThree() {
        Pattern llama3 = Pattern.compile("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", Pattern.UNICODE_CHARACTER_CLASS);
        List<Piece> p = PreTokenizer.splitOn(Piece.of("abc 12345 I'M"), llama3, PreTokenizer.Behavior.ISOLATED, false);
        assertEquals(List.of("abc", " ", "123", "45", " I", "'M"), texts(p));
    }

    @Test
    void metaspaceSplitAsInTheLibraryTests() {
        // tokenizers/src/pre_tokenizers/metaspace.rs, test multiple_spaces
        List<Piece> p = new PreTokenizer.Metaspace('▁', "always", true).split(Piece.of("Hey   friend!"));
        assertEquals(List.of("▁Hey", "▁", "▁", "▁friend!"), texts(p));
        assertEquals(List.of(0, 3, 4, 5), p.stream().map(x -> x.start[0]).toList());
        assertEquals(List.of("Hey", " friend!"),
                new Decoder.Metaspace('▁', true).decodeChain(List.of("▁Hey", "▁friend!")));
    }

    @Test
    void bertPreTokenizerDropsWhitespaceIsolatesPunctuation() {
        assertEquals(List.of("Hey", "friend", "!", "How", "are", "you", "?", "!", "?"),
                texts(new PreTokenizer.Bert().split(Piece.of("Hey friend!     How are you?!?"))));
    }

    @Test
    void byteFallbackDecodesValidRunsAndReplacesInvalidBytes() {
        assertEquals(List.of("a", "☃", "b"),
                new Decoder.ByteFallback().decodeChain(List.of("a", "<0xE2>", "<0x98>", "<0x83>", "b")));
        assertEquals(List.of("\uFFFD\uFFFD"), new Decoder.ByteFallback().decodeChain(List.of("<0xE2>", "<0x98>")));
    }

    @Test
    void bytesToUnicodeTable() {
        assertEquals('Ġ', Chars.BYTE_TO_CHAR[' ']);
        assertEquals('Ċ', Chars.BYTE_TO_CHAR['\n']);
        assertEquals('!', Chars.BYTE_TO_CHAR['!']);
        assertEquals(0x143, Chars.BYTE_TO_CHAR[0xAD]);
        for (int b = 0; b < 256; b++) {
            assertEquals(b, Chars.CHAR_TO_BYTE[Chars.BYTE_TO_CHAR[b]]);
        }
    }

    @Test
    void wordPieceDecoderAsInTheLibraryTest() {
        // tokenizers/src/decoders/wordpiece.rs, test wordpiece_decoder (cleanup off)
        assertEquals("##uelo Araújo Noguera", String.join("", new Decoder.WordPiece("##", false)
                .decodeChain(List.of("##uelo", "Ara", "##új", "##o", "No", "##guera"))));
    }
}
