package dev.slimq.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.SlimqException;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.runtime.bert.Pooling;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EncoderEvalTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path other;

    @BeforeAll
    static void generate() {
        model = dir.resolve("bert");
        other = dir.resolve("bert-seed2");
        SynthCheckpoint.write(SynthSpec.tinyBert(), model);
        SynthCheckpoint.write(SynthSpec.tinyBert().withSeed(2), other);
    }

    @Test
    void bundledTextsAreThere() {
        List<String> texts = EvalTexts.bundled();
        assertEquals(400, texts.size());
        assertEquals(400, texts.stream().distinct().count(), "no line twice");
        assertTrue(texts.stream().noneMatch(String::isBlank));
    }

    @Test
    void aModelAgainstItselfHasCosineOne() {
        EncoderEval.Result r = EncoderEval.run(model, model, EvalTexts.bundled(), Pooling.MEAN, 2);
        assertEquals(1.0, r.comparison().meanCos(), 1e-6);
        assertEquals(1.0, r.comparison().minCos(), 1e-6);
        assertEquals(1.0, r.comparison().top10Overlap(), 0.0);
        assertEquals(400, r.model().texts());
        assertTrue(r.model().tokens() > 400);
    }

    @Test
    void aDifferentModelScoresLower() {
        EncoderEval.Result r = EncoderEval.run(other, model, EvalTexts.bundled(), Pooling.CLS, 1);
        assertTrue(r.comparison().meanCos() < 0.999, "mean cos " + r.comparison().meanCos());
        assertTrue(r.comparison().minCos() <= r.comparison().meanCos());
    }

    @Test
    void withoutReferenceOnlyStats() {
        EncoderEval.Result r = EncoderEval.run(model, null, List.of("one line"), Pooling.MEAN, 1);
        assertNull(r.comparison());
        assertNull(r.reference());
        assertEquals(1, r.model().texts());
    }

    @Test
    void readsTextFilesAndRefusesEmptyOnes() throws Exception {
        Path f = Files.writeString(dir.resolve("texts.txt"), "first\n\n  second  \n");
        assertEquals(List.of("first", "second"), EvalTexts.read(f));
        Path empty = Files.writeString(dir.resolve("empty.txt"), "\n \n");
        assertThrows(SlimqException.class, () -> EvalTexts.read(empty));
    }

    @Test
    void truncationKeepsTheClosingToken() {
        Encoding e = new Encoding(new int[] {1, 5, 6, 7, 2}, List.of("[CLS]", "a", "b", "c", "[SEP]"), new int[5], new int[5],
                new int[5], new int[] {1, 1, 1, 1, 1}, new int[] {1, 0, 0, 0, 1});
        Encoding t = e.truncate(3);
        assertEquals(List.of("[CLS]", "a", "[SEP]"), t.tokens());
        assertEquals(2, t.ids()[2]);
    }

    @Test
    void tokenReductionReportsFidelityAndSpeed() {
        EncoderEval.ReductionResult none = EncoderEval.runReduced(model, null, EvalTexts.bundled(), Pooling.MEAN, 2,
                new dev.slimq.runtime.bert.TokenReduction.ToMe(0));
        assertEquals(1.0, none.comparison().minCos(), 1e-6);
        EncoderEval.ReductionResult r = EncoderEval.runReduced(model, null, EvalTexts.bundled(), Pooling.MEAN, 2,
                new dev.slimq.runtime.bert.TokenReduction.ToMe(4));
        assertTrue(r.comparison().meanCos() < 1.0 && r.comparison().meanCos() > 0.5, "mean cos " + r.comparison().meanCos());
        assertTrue(r.baseSeconds() > 0 && r.reducedSeconds() > 0 && r.speedup() > 0);
        assertTrue(r.tokensPerLayer()[r.tokensPerLayer().length - 1] < r.tokensPerLayer()[0]);
        EncoderEval.ReductionResult vsOther = EncoderEval.runReduced(model, other, EvalTexts.bundled(), Pooling.MEAN, 1,
                new dev.slimq.runtime.bert.TokenReduction.ToMe(0));
        assertTrue(vsOther.comparison().meanCos() < 0.999);
    }
}
