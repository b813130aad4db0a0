package dev.slimq.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compares slimq's pure-Java tokenizers with Hugging Face {@code tokenizers} itself: DJL's
 * {@code ai.djl.huggingface:tokenizers} jar bundles the Rust library (0.21) as a native library, which
 * runs offline here. For every fixture and text: ids, token strings, offsets (as UTF-16 indices) and
 * the decoded text agree. The Unigram fixture carries a Precompiled charsmap made by
 * {@link CharsMapBuilder}, so this also checks that the builder writes what the library reads.
 */
class HfReferenceTest {
    /** Texts that exercise normalization, unknown characters, ties, added tokens and astral code points. */
    private static final List<String> TEXTS = List.of(
            "the hello cats", "xy", "z\u2603z", "\uFF21\uFB01\u2460", "e\u0301", "q\u0301", "\uFF76\uFF9E",
            "x\u00A0\u00A0\u00A0y", "x\u200By", "x <mask>", "x<mask> y", "  the  hello\tcats  ", "",
            " ", "hello\u2603\u2603 the", "\uD83D\uDE00x", "x\uD83D\uDE00\uD83D\uDE00", "cafe\u0301 q\u0301q",
            "the<s>cats</s>", "Hello, World! It's 12:30 -- unaffable naïve café 東京 \uD83D\uDE00",
            "The quick brown fox jumps over the lazy dog.", "tokenizers\n\nnew  line\r\n", "<unk>z<unk>");

    @TempDir
    Path tmp;

    private static Path fixturePath(String name) {
        try {
            return Path.of(HfReferenceTest.class.getResource("/tokenizer/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    private void compare(Path json, List<String> texts) throws IOException {
        compare(json, texts, true);
    }

    private void compare(Path json, List<String> texts, boolean checkDecode) throws IOException {
        Tokenizer ours = Tokenizer.load(json);
        // DJL reads tokenizer_config.json next to the file when there is one: give it the file alone
        Path alone = tmp.resolve(json.getFileName() + ".d");
        Files.createDirectories(alone);
        Path copy = Files.copy(json, alone.resolve("tokenizer.json"));
        for (boolean specials : new boolean[] {true, false}) {
            try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(copy,
                    Map.of("addSpecialTokens", Boolean.toString(specials), "truncation", "false",
                            "padding", "false"))) {
                for (String text : texts) {
                    ai.djl.huggingface.tokenizers.Encoding ref = hf.encode(text);
                    Encoding got = ours.encode(text, specials);
                    String what = json.getFileName() + " " + (specials ? "with" : "without") + " specials: "
                            + escape(text) + " -> " + got.tokens();
                    assertEquals(Arrays.toString(ref.getIds()), Arrays.toString(toLong(got.ids())), what);
                    assertEquals(Arrays.asList(ref.getTokens()), got.tokens(), what);
                    List<List<Integer>> refOffsets = new ArrayList<>();
                    for (var span : ref.getCharTokenSpans()) {
                        // DJL has no span for the tokens the post-processor adds; the library's offsets are (0, 0)
                        refOffsets.add(span == null ? List.of(0, 0) : List.of(span.getStart(), span.getEnd()));
                    }
                    if (isBmp(text)) {
                        // DJL reports offsets in code points; for BMP text they are UTF-16 indices too
                        assertEquals(refOffsets, TokenizerTestSupport.offsets(got), what);
                    }
                    if (checkDecode) {
                        assertEquals(hf.decode(ref.getIds(), true), ours.decode(got.ids(), true), "decode " + what);
                        assertEquals(hf.decode(ref.getIds(), false), ours.decode(got.ids(), false), "decode " + what);
                    }
                }
            }
        }
    }

    private static boolean isBmp(String s) {
        return s.codePoints().allMatch(Character::isBmpCodePoint);
    }

    private static long[] toLong(int[] ids) {
        return Arrays.stream(ids).asLongStream().toArray();
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> b.append(c < 0x20 || c > 0x7E ? String.format("\\u%04X", c) : Character.toString(c)));
        return b.toString();
    }

    @Test
    void unigramWithPrecompiledCharsmap() throws IOException {
        compare(fixturePath("unigram.json"), TEXTS);
    }

    @Test
    void unigramByteFallbackAndMetaspaceVariants() throws IOException {
        for (String variant : new String[] {"first", "never", "always-nosplit"}) {
            Path p = tmp.resolve("byte-" + variant + ".json");
            Files.writeString(p, UnigramTokenizerTest.byteFallbackJson(variant));
            compare(p, TEXTS);
        }
    }

    @Test
    void unigramWithT5StyleNormalizers() throws IOException {
        Path p = tmp.resolve("t5.json");
        Files.writeString(p, UnigramTokenizerTest.t5StyleJson());
        compare(p, TEXTS);
    }

    @Test
    void existingFixturesAgreeToo() throws IOException {
        for (String f : new String[] {"wordpiece.json", "bytelevel_bpe.json", "sentencepiece_bpe.json", "llama3_bpe.json"}) {
            compare(fixturePath(f), TEXTS);
        }
        // added_tokens.json gives its added tokens ids the model vocabulary already uses; the library
        // renumbers such tokens when it loads them (AddedVocabulary::add_tokens), so only encoding is compared
        compare(fixturePath("added_tokens.json"), TEXTS, false);
    }
}
