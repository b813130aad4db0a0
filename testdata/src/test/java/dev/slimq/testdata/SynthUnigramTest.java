package dev.slimq.testdata;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.json.Json;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The XLM-R-style Unigram checkpoint: files, determinism, weights shared with the BERT preset. */
class SynthUnigramTest {
    @TempDir
    Path tmp;

    @Test
    void layoutAndTokenizer() throws IOException {
        Path dir = tmp.resolve("xlmr");
        SynthCheckpoint.Result r = SynthUnigram.write(SynthSpec.tinyBert(), dir, SynthCheckpoint.Options.defaults());
        assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"),
                r.files().stream().map(p -> p.getFileName().toString()).toList());
        JsonNode cfg = Json.MAPPER.readTree(dir.resolve("config.json").toFile());
        assertEquals("xlm-roberta", cfg.path("model_type").asText());
        assertEquals(1, cfg.path("pad_token_id").asInt());
        Tokenizer t = Tokenizer.load(dir.resolve("tokenizer.json"));
        assertEquals("Unigram", t.modelType());
        assertEquals(1024, t.vocabSize());
        assertEquals(1023, t.tokenToId("<mask>").orElseThrow());
        assertEquals(3, t.unkId().orElseThrow());
        JsonNode vocab = Json.MAPPER.readTree(dir.resolve("tokenizer.json").toFile()).path("model").path("vocab");
        Set<String> pieces = new HashSet<>();
        double prev = 0;
        for (int id = 4; id < 1023; id++) {
            assertTrue(pieces.add(vocab.get(id).get(0).asText()), "unique pieces");
            double s = vocab.get(id).get(1).asDouble();
            assertTrue(s <= prev && s < 0, "ordered by score, log probabilities");
            assertEquals(s, (double) (float) s, "float scores");
            prev = s;
        }
        // The corpus encodes without <unk> and decodes back to its words.
        String corpus = SynthTokenizer.corpus();
        Encoding e = t.encode(corpus, true);
        assertFalse(java.util.Arrays.stream(e.ids()).anyMatch(id -> id == 3), "no <unk>");
        assertEquals(String.join(" ", corpus.split("\\s+")).strip(), t.decode(e.ids()).strip());
        assertEquals(0, e.ids()[0]);
        assertEquals(2, e.ids()[e.size() - 1]);
        // Unigram pieces are longer than characters: the corpus takes far fewer tokens than characters.
        assertTrue(e.size() < corpus.length() / 2, e.size() + " tokens");
    }

    @Test
    void deterministicAndSameWeightsAsTheBertPreset() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        Path bert = tmp.resolve("bert");
        SynthUnigram.write(SynthSpec.tinyBert(), a, new SynthCheckpoint.Options(false, 1));
        SynthUnigram.write(SynthSpec.tinyBert(), b, new SynthCheckpoint.Options(false, 2));
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
        for (String f : new String[] {"config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"}) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
        }
        assertArrayEquals(Files.readAllBytes(bert.resolve("model.safetensors")), Files.readAllBytes(a.resolve("model.safetensors")));
    }

    @Test
    void refusals() throws IOException {
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class, () -> SynthUnigram.write(SynthSpec.tinyLlama(),
                tmp.resolve("x"), SynthCheckpoint.Options.defaults())).failure());
        Files.createDirectories(tmp.resolve("exists"));
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class, () -> SynthUnigram.write(SynthSpec.tinyBert(),
                tmp.resolve("exists"), SynthCheckpoint.Options.defaults())).failure());
    }
}
