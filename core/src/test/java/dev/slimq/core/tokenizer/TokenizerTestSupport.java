package dev.slimq.core.tokenizer;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

/** Loads the hand-built tokenizer.json fixtures in {@code src/test/resources/tokenizer/}. */
final class TokenizerTestSupport {
    private TokenizerTestSupport() {
    }

    static Tokenizer fixture(String name) {
        try {
            return Tokenizer.load(Path.of(TokenizerTestSupport.class.getResource("/tokenizer/" + name).toURI()));
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** Offsets as {@code [[s, e], ...]} for compact assertions. */
    static List<List<Integer>> offsets(Encoding e) {
        return java.util.stream.IntStream.range(0, e.size()).mapToObj(i -> List.of(e.starts()[i], e.ends()[i])).toList();
    }
}
