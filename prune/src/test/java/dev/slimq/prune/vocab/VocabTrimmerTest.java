package dev.slimq.prune.vocab;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.json.Json;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.core.tokenizer.AddedToken;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import dev.slimq.testdata.SynthUnigram;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabTrimmerTest {
    private static final String CORPUS = "The quick brown fox jumps over the lazy dog.\n"
            + "Pack my box with five dozen liquor jugs; the dog sleeps, the fox runs!\n";

    @TempDir
    Path tmp;

    private VocabTrimmer.Result trim(Path in, Path out, int minCount) throws IOException {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, CORPUS);
        return VocabTrimmer.run(in, out, new VocabTrimmer.Options(List.of(), List.of(corpus), minCount, 64, false));
    }

    private void checkTrimmed(Path in, Path out, VocabTrimmer.Result r, int expectedTables) throws IOException {
        Tokenizer before = Tokenizer.load(in.resolve("tokenizer.json"));
        Tokenizer after = Tokenizer.load(out.resolve("tokenizer.json"));
        int[] table = r.keptIds();
        assertEquals(r.tokensAfter(), table.length);
        assertEquals(r.tokensAfter(), after.vocabSize());
        assertTrue(r.tokensAfter() < r.tokensBefore(), "something was trimmed");
        // The corpus encodes to the renumbered original ids, with and without special tokens.
        for (boolean specials : new boolean[] {false, true}) {
            int[] orig = before.encode(CORPUS, specials).ids();
            int[] neu = after.encode(CORPUS, specials).ids();
            assertEquals(orig.length, neu.length);
            for (int i = 0; i < orig.length; i++) {
                assertEquals(orig[i], table[neu[i]], "token " + i);
            }
        }
        // Special tokens keep their content at their new ids.
        for (AddedToken t : before.addedTokens()) {
            int n = after.tokenToId(t.content()).orElseThrow();
            assertEquals(t.id(), table[n]);
        }
        // Rows: byte-identical for kept tokens, zero padding, padded size.
        assertEquals(0, r.vocabSizeAfter() % 64);
        assertTrue(r.vocabSizeAfter() >= r.tokensAfter() && r.vocabSizeAfter() - r.tokensAfter() < 64);
        assertEquals(expectedTables, r.trimmedTensors().size());
        try (Checkpoint a = Checkpoint.open(in); Checkpoint b = Checkpoint.open(out)) {
            assertEquals(a.tensors().size(), b.tensors().size());
            for (String name : r.trimmedTensors()) {
                TensorInfo ti = b.tensor(name);
                assertEquals(r.vocabSizeAfter(), ti.dim(0));
                long rowBytes = ti.byteCount() / ti.dim(0);
                try (TensorView va = a.map(name); TensorView vb = b.map(name)) {
                    for (int n = 0; n < table.length; n++) {
                        MemorySegment ra = va.segment().asSlice(table[n] * rowBytes, rowBytes);
                        MemorySegment rb = vb.segment().asSlice(n * rowBytes, rowBytes);
                        assertEquals(-1, ra.mismatch(rb), name + " row " + n);
                    }
                    for (long n = table.length; n < ti.dim(0); n++) {
                        for (long k = 0; k < rowBytes; k++) {
                            assertEquals(0, vb.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, n * rowBytes + k));
                        }
                    }
                }
            }
            long params = b.tensors().stream().mapToLong(TensorInfo::elementCount).sum();
            assertEquals(r.parametersAfter(), params);
        }
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("config.json").toFile());
        assertEquals(r.vocabSizeAfter(), cfg.path("vocab_size").asLong());
        // tokenizer_config.json: added_tokens_decoder keyed by the new ids.
        JsonNode tc = Json.MAPPER.readTree(out.resolve("tokenizer_config.json").toFile());
        tc.path("added_tokens_decoder").properties().forEach(e ->
                assertEquals(after.tokenToId(e.getValue().path("content").asText()).orElseThrow(), Integer.parseInt(e.getKey())));
    }

    @Test
    void bertCorpusTrim() throws IOException {
        Path in = tmp.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), in);
        Path out = tmp.resolve("bert-trim");
        VocabTrimmer.Result r = trim(in, out, 1);
        assertEquals("WordPiece", r.tokenizerModel());
        checkTrimmed(in, out, r, 1);
        Tokenizer after = Tokenizer.load(out.resolve("tokenizer.json"));
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("config.json").toFile());
        assertEquals(after.padId().orElseThrow(), cfg.path("pad_token_id").asInt());
        List<String> vocabTxt = Files.readAllLines(out.resolve("vocab.txt"));
        assertEquals(r.tokensAfter(), vocabTxt.size());
        assertEquals(after.idToToken(5), vocabTxt.get(5));
    }

    @Test
    void llamaUntiedCorpusTrim() throws IOException {
        Path in = tmp.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama().withTiedEmbeddings(false), in);
        Path out = tmp.resolve("llama-trim");
        VocabTrimmer.Result r = trim(in, out, 1);
        assertEquals("BPE", r.tokenizerModel());
        assertTrue(r.mergesAfter() < r.mergesBefore());
        checkTrimmed(in, out, r, 2);
        Tokenizer after = Tokenizer.load(out.resolve("tokenizer.json"));
        // All 256 byte tokens kept: any text still encodes, and decodes back.
        String other = "Zebra xylophone Ωμέγα 123";
        assertEquals(other, after.decode(after.encode(other, false).ids()));
        for (String f : new String[] {"config.json", "generation_config.json"}) {
            JsonNode c = Json.MAPPER.readTree(out.resolve(f).toFile());
            assertEquals(after.bosId().orElseThrow(), c.path("bos_token_id").asInt(), f);
            assertEquals(after.eosId().orElseThrow(), c.path("eos_token_id").asInt(), f);
        }
    }

    @Test
    void llamaTiedKeepsOneTensor() throws IOException {
        Path in = tmp.resolve("tied");
        SynthCheckpoint.write(SynthSpec.tinyLlama().withTiedEmbeddings(true), in);
        Path out = tmp.resolve("tied-trim");
        VocabTrimmer.Result r = trim(in, out, 1);
        checkTrimmed(in, out, r, 1);
        try (Checkpoint b = Checkpoint.open(out)) {
            assertFalse(b.contains("lm_head.weight"));
        }
    }

    @Test
    void keepIdsAndMinCount() throws IOException {
        Path in = tmp.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), in);
        Path ids = tmp.resolve("ids.txt");
        Files.writeString(ids, "# a comment\n700\n\n900\n");
        VocabTrimmer.Result only = VocabTrimmer.run(in, tmp.resolve("o1"),
                new VocabTrimmer.Options(List.of(ids), List.of(), 1, 8, false));
        assertEquals(2, only.requested());
        assertEquals(0, only.vocabSizeAfter() % 8);
        assertTrue(java.util.Arrays.stream(only.keptIds()).anyMatch(i -> i == 700));
        VocabTrimmer.Result once = trim(in, tmp.resolve("o2"), 1);
        VocabTrimmer.Result twice = trim(in, tmp.resolve("o3"), 2);
        assertTrue(twice.requested() < once.requested());
    }

    @Test
    void deterministic() throws IOException {
        Path in = tmp.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in);
        trim(in, tmp.resolve("a"), 1);
        trim(in, tmp.resolve("b"), 1);
        try (var files = Files.list(tmp.resolve("a"))) {
            for (Path f : files.toList()) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(tmp.resolve("b").resolve(f.getFileName())), f.toString());
            }
        }
    }

    @Test
    void refusals() throws IOException {
        Path in = tmp.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), in);
        Path corpus = tmp.resolve("c.txt");
        Files.writeString(corpus, CORPUS);
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class, () -> new VocabTrimmer.Options(List.of(), List.of(), 1, 64, false)).failure());
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class, () -> new VocabTrimmer.Options(List.of(), List.of(corpus), 0, 64, false)).failure());
        Path bad = tmp.resolve("bad.txt");
        Files.writeString(bad, "5000000\n");
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class, () -> VocabTrimmer.run(in, tmp.resolve("x"),
                new VocabTrimmer.Options(List.of(bad), List.of(), 1, 64, false))).failure());
        // An existing output without force.
        Files.createDirectories(tmp.resolve("exists"));
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class, () -> VocabTrimmer.run(in, tmp.resolve("exists"),
                new VocabTrimmer.Options(List.of(), List.of(corpus), 1, 64, false))).failure());
        // WordLevel: UNSUPPORTED (exit 4).
        Path wl = tmp.resolve("wl");
        SynthCheckpoint.write(SynthSpec.tinyBert(), wl);
        ObjectNode tok = (ObjectNode) Json.MAPPER.readTree(wl.resolve("tokenizer.json").toFile());
        ObjectNode model = Json.MAPPER.createObjectNode();
        model.put("type", "WordLevel");
        model.putObject("vocab").put("[PAD]", 0);
        model.put("unk_token", "[PAD]");
        tok.set("model", model);
        Files.writeString(wl.resolve("tokenizer.json"), Json.python(tok));
        assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class, () -> VocabTrimmer.run(wl, tmp.resolve("y"),
                new VocabTrimmer.Options(List.of(), List.of(corpus), 1, 64, false))).failure());
    }

    @Test
    void unigramCorpusTrim() throws IOException {
        Path in = tmp.resolve("xlmr");
        SynthUnigram.write(SynthSpec.tinyBert(), in, SynthCheckpoint.Options.defaults());
        Path out = tmp.resolve("xlmr-trim");
        VocabTrimmer.Result r = trim(in, out, 1);
        assertEquals("Unigram", r.tokenizerModel());
        checkTrimmed(in, out, r, 1);
        int[] table = r.keptIds();
        JsonNode before = Json.MAPPER.readTree(in.resolve("tokenizer.json").toFile()).path("model");
        JsonNode after = Json.MAPPER.readTree(out.resolve("tokenizer.json").toFile()).path("model");
        // every kept piece with its score, as written, in the original order
        assertEquals(table.length, after.path("vocab").size());
        for (int n = 0; n < table.length; n++) {
            assertEquals(before.path("vocab").get(table[n]), after.path("vocab").get(n), "piece " + n);
        }
        assertEquals(3, table[after.path("unk_id").asInt()]);
        // the lowest-scoring piece stays, so unknown characters keep their score
        double min = Double.POSITIVE_INFINITY;
        for (JsonNode e : before.path("vocab")) {
            min = Math.min(min, e.get(1).asDouble());
        }
        double minAfter = Double.POSITIVE_INFINITY;
        for (JsonNode e : after.path("vocab")) {
            minAfter = Math.min(minAfter, e.get(1).asDouble());
        }
        assertEquals(min, minAfter);
        // ids of <s> <pad> </s> <unk> stay 0-3; <mask> moves from 1023 to the last kept id
        Tokenizer t = Tokenizer.load(out.resolve("tokenizer.json"));
        assertEquals(table.length - 1, t.tokenToId("<mask>").orElseThrow());
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("config.json").toFile());
        assertEquals(1, cfg.path("pad_token_id").asInt());
        assertEquals(2, cfg.path("eos_token_id").asInt());
        assertTrue(r.parametersAfter() < r.parametersBefore());
    }

    /**
     * A Unigram vocabulary where trimming to the used pieces alone would change the segmentation (the
     * case {@link TokenSelection#unigramMinScorePiece} argues about): a -45, b -45, ab -20, c -20, bc -1.
     * "abc" is ab+c (-40; a+bc is -46), "bc" is bc. Keeping only ab, c, bc (and unk) raises the minimum
     * score to -20, so an unknown character costs -30 instead of -55 and "abc" becomes unk(a)+bc (-31).
     * trim-vocab also keeps the minimum piece (a), and the segmentation stays ab+c.
     */
    @Test
    void unigramWithoutTheMinimumPieceWouldResegment() throws IOException {
        Path in = tmp.resolve("abc");
        SynthCheckpoint.write(SynthSpec.tinyBert(), in);
        ObjectNode tok = (ObjectNode) Json.MAPPER.readTree(in.resolve("tokenizer.json").toFile());
        tok.putArray("added_tokens");
        tok.putNull("normalizer");
        tok.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
        tok.putNull("post_processor");
        tok.putNull("decoder");
        ObjectNode model = tok.putObject("model");
        model.put("type", "Unigram");
        model.put("unk_id", 0);
        com.fasterxml.jackson.databind.node.ArrayNode v = model.putArray("vocab");
        String[] pieces = {"<unk>", "a", "b", "ab", "c", "bc"};
        double[] scores = {0, -45, -45, -20, -20, -1};
        for (int i = 0; i < pieces.length; i++) {
            v.addArray().add(pieces[i]).add(scores[i]);
        }
        model.put("byte_fallback", false);
        Files.writeString(in.resolve("tokenizer.json"), Json.python(tok));
        Files.delete(in.resolve("tokenizer_config.json"));
        Path corpus = tmp.resolve("abc.txt");
        Files.writeString(corpus, "abc bc");
        assertArrayEquals(new int[] {3, 4, 5}, Tokenizer.load(in.resolve("tokenizer.json")).encodeIds("abc bc"));

        Path out = tmp.resolve("abc-trim");
        VocabTrimmer.Result r = VocabTrimmer.run(in, out, new VocabTrimmer.Options(List.of(), List.of(corpus), 1, 8, false));
        assertArrayEquals(new int[] {0, 1, 3, 4, 5}, r.keptIds(), "unk, the minimum piece a, and the used pieces");
        Tokenizer trimmed = Tokenizer.load(out.resolve("tokenizer.json"));
        assertEquals(List.of("ab", "c", "bc"), trimmed.encode("abc bc", false).tokens());

        // The same trim without the minimum piece: "abc" resegments into an unknown a and bc.
        ObjectNode bad = (ObjectNode) Json.MAPPER.readTree(out.resolve("tokenizer.json").toFile());
        ((com.fasterxml.jackson.databind.node.ArrayNode) bad.path("model").path("vocab")).remove(1);
        Path badFile = tmp.resolve("without-min.json");
        Files.writeString(badFile, Json.python(bad));
        assertEquals(List.of("a", "bc", "bc"), Tokenizer.load(badFile).encode("abc bc", false).tokens());
        assertArrayEquals(new int[] {0, 3, 3}, Tokenizer.load(badFile).encode("abc bc", false).ids());
    }

    @Test
    void unigramByteFallbackKeepsTheBytePieces() throws IOException {
        Path in = tmp.resolve("bf");
        SynthCheckpoint.write(SynthSpec.tinyBert(), in);
        ObjectNode tok = (ObjectNode) Json.MAPPER.readTree(in.resolve("tokenizer.json").toFile());
        tok.putArray("added_tokens");
        tok.putNull("normalizer");
        tok.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
        tok.putNull("post_processor");
        ObjectNode dec = tok.putObject("decoder");
        dec.put("type", "ByteFallback");
        ObjectNode model = tok.putObject("model");
        model.put("type", "Unigram");
        model.put("unk_id", 0);
        com.fasterxml.jackson.databind.node.ArrayNode v = model.putArray("vocab");
        v.addArray().add("<unk>").add(0.0);
        for (int b = 0; b < 256; b++) {
            v.addArray().add(String.format("<0x%02X>", b)).add(-10.0);
        }
        for (String p : new String[] {"x", "y", "xy", "z", "zz"}) {
            v.addArray().add(p).add(-1.0 - p.length());
        }
        model.put("byte_fallback", true);
        Files.writeString(in.resolve("tokenizer.json"), Json.python(tok));
        Files.delete(in.resolve("tokenizer_config.json"));
        Path corpus = tmp.resolve("xy.txt");
        Files.writeString(corpus, "xy x");
        VocabTrimmer.Result r = VocabTrimmer.run(in, tmp.resolve("bf-trim"), new VocabTrimmer.Options(List.of(), List.of(corpus), 1, 8, false));
        assertEquals(1 + 256 + 2, r.tokensAfter(), "unk, 256 byte pieces, x and xy");
        Tokenizer t = Tokenizer.load(tmp.resolve("bf-trim").resolve("tokenizer.json"));
        // y and z are gone: they come out as their bytes now, and decode back
        assertEquals(List.of("x", "<0x79>", "<0x7A>"), t.encode("x y z", false).tokens());
        assertEquals("xyz", t.decode(t.encode("x y z", false).ids()));
    }

    @Test
    void mergePathSimulation() {
        java.util.Map<String, Integer> rank = java.util.Map.of("a\u0000b", 0, "ab\u0000c", 1);
        assertEquals(List.of("a", "b", "c", "ab", "abc"), TokenSelection.simulate("abc", rank));
        assertEquals(null, TokenSelection.simulate("abd", rank));
        assertEquals(256, new java.util.HashSet<>(TokenSelection.byteLevelAlphabet()).size());
    }
}
