package dev.slimq.cli;

import static dev.slimq.cli.CliRun.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.BertEncoder;
import dev.slimq.runtime.bert.BertWeights;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import dev.slimq.testdata.SynthUnigram;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code slimq trim-vocab} on an XLM-R-style encoder with a SentencePiece Unigram tokenizer: the trimmed
 * model's hidden states for the corpus text are bit-identical to the original's (through the runtime's
 * BERT-family forward pass), and {@code slimq eval} agrees.
 */
class UnigramCliTest {
    private static final List<String> TEXTS = List.of(
            "The harbor town woke slowly on cold mornings.",
            "Fishing boats came back before the sun was fully up, and the men carried crates of silver fish.",
            "Nobody in the town remembered exactly when the lighthouse had been built.",
            "A baker on the corner opened her shop at six.");

    @TempDir
    Path tmp;

    @Test
    void trimmedXlmRobertaGivesBitIdenticalHiddenStates() throws IOException {
        Path in = tmp.resolve("xlmr");
        SynthUnigram.write(SynthSpec.tinyBert(), in, SynthCheckpoint.Options.defaults());
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, String.join("\n", TEXTS) + "\n");
        Path out = tmp.resolve("xlmr-trim");

        CliRun r = run("trim-vocab", in.toString(), out.toString(), "--corpus", corpus.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = r.json();
        assertEquals("Unigram", j.path("tokenizer_model").asText(), r.out());
        int before = j.path("tokens_before").asInt();
        int after = j.path("tokens_after").asInt();
        assertEquals(1024, before);
        assertTrue(after < before / 4, after + " tokens kept");
        assertTrue(j.path("parameters_after").asLong() < j.path("parameters_before").asLong());

        Tokenizer tIn = Tokenizer.load(in.resolve("tokenizer.json"));
        Tokenizer tOut = Tokenizer.load(out.resolve("tokenizer.json"));
        List<Encoding> encIn = new ArrayList<>();
        List<Encoding> encOut = new ArrayList<>();
        for (String text : TEXTS) {
            encIn.add(tIn.encode(text, true));
            encOut.add(tOut.encode(text, true));
            assertEquals(tIn.encode(text, true).tokens(), tOut.encode(text, true).tokens(), "same segmentation: " + text);
        }
        try (Checkpoint a = Checkpoint.open(in); Checkpoint b = Checkpoint.open(out); WorkPool pool = new WorkPool(2)) {
            BertEncoder ea = new BertEncoder(BertWeights.load(a), pool, LinearKernel.VECTOR);
            BertEncoder eb = new BertEncoder(BertWeights.load(b), pool, LinearKernel.VECTOR);
            float[] ha = ea.hiddenStates(encIn);
            float[] hb = eb.hiddenStates(encOut);
            assertEquals(ha.length, hb.length);
            for (int i = 0; i < ha.length; i++) {
                assertEquals(Float.floatToRawIntBits(ha[i]), Float.floatToRawIntBits(hb[i]), "hidden state element " + i);
            }
            assertArrayEquals(ea.embed(encIn, dev.slimq.runtime.bert.Pooling.MEAN)[0],
                    eb.embed(encOut, dev.slimq.runtime.bert.Pooling.MEAN)[0]);
        }

        // slimq eval: the same through the command line (cosine against the original model)
        CliRun e = run("eval", out.toString(), "--reference", in.toString(), "--texts", corpus.toString(), "--json");
        assertEquals(0, e.code(), e.err());
        assertEquals(1.0, e.json().path("comparison").path("mean_cos").asDouble(), 1e-6, e.out());
        assertEquals(1.0, e.json().path("comparison").path("min_cos").asDouble(), 1e-6, e.out());
    }
}
