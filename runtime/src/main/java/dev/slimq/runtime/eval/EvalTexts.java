package dev.slimq.runtime.eval;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The texts an evaluation embeds: one sentence or passage per line, blank lines skipped. The bundled
 * set (400 English sentences and short passages written for slimq, about 7,000 tokens under
 * bge-small's WordPiece, in pairs on the same topic, mostly paraphrases, so that nearest neighbours
 * mean something) is for a quick check; users pass their own domain text.
 */
public final class EvalTexts {
    static final String BUNDLED = "texts.txt";

    private EvalTexts() {
    }

    /** The bundled English texts. */
    public static List<String> bundled() {
        try (InputStream in = EvalTexts.class.getResourceAsStream(BUNDLED)) {
            if (in == null) {
                throw new IllegalStateException("bundled resource " + BUNDLED + " is missing from the jar");
            }
            return lines(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read bundled " + BUNDLED, e);
        }
    }

    /** The non-blank lines of a UTF-8 file. */
    public static List<String> read(Path file) {
        String s;
        try {
            s = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new SlimqException(Failure.IO, "cannot read " + file + ": " + e.getMessage());
        }
        List<String> lines = lines(s);
        if (lines.isEmpty()) {
            throw new SlimqException(Failure.USAGE, file + " has no non-blank lines to embed");
        }
        return lines;
    }

    static List<String> lines(String s) {
        return s.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /**
     * The leading texts whose token counts under {@code tokenizer} (specials included) fit in
     * {@code maxTokens}, at least one; all of them when {@code maxTokens} is 0. Whole texts only, so
     * an encoder embeds each kept text exactly as without the budget.
     */
    public static List<String> withinTokens(List<String> texts, Tokenizer tokenizer, long maxTokens) {
        if (maxTokens < 0) {
            throw new SlimqException(Failure.USAGE, "--max-tokens must not be negative, got " + maxTokens);
        }
        if (maxTokens == 0) {
            return texts;
        }
        long used = 0;
        int n = 0;
        while (n < texts.size()) {
            long size = tokenizer.encode(texts.get(n), true).size();
            if (n > 0 && used + size > maxTokens) {
                break;
            }
            used += size;
            n++;
        }
        return texts.subList(0, n);
    }
}
