package dev.slimq.testdata;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Hand-written: the tiny Llama's tensors as transformers names them (hidden 64, 4 heads of 16, 2 KV heads, MLP 192, vocab 512). */
    private static Map<String, long[]> tinyLlamaShapes(boolean tied) {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new long[] {512, 64});
        for (int i = 0; i < 2; i++) {
            String p = "model.layers." + i + ".";
            m.put(p + "self_attn.q_proj.weight", new long[] {64, 64});
            m.put(p + "self_attn.k_proj.weight", new long[] {32, 64});
            m.put(p + "self_attn.v_proj.weight", new long[] {32, 64});
            m.put(p + "self_attn.o_proj.weight", new long[] {64, 64});
            m.put(p + "mlp.gate_proj.weight", new long[] {192, 64});
            m.put(p + "mlp.up_proj.weight", new long[] {192, 64});
            m.put(p + "mlp.down_proj.weight", new long[] {64, 192});
            m.put(p + "input_layernorm.weight", new long[] {64});
            m.put(p + "post_attention_layernorm.weight", new long[] {64});
        }
        m.put("model.norm.weight", new long[] {64});
        if (!tied) {
            m.put("lm_head.weight", new long[] {512, 64});
        }
        return m;
    }

    /** Hand-written: the tiny BERT's tensors (hidden 64, MLP 256, vocab 1024, 128 positions, 2 token types). */
    private static Map<String, long[]> tinyBertShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("embeddings.word_embeddings.weight", new long[] {1024, 64});
        m.put("embeddings.position_embeddings.weight", new long[] {128, 64});
        m.put("embeddings.token_type_embeddings.weight", new long[] {2, 64});
        m.put("embeddings.LayerNorm.weight", new long[] {64});
        m.put("embeddings.LayerNorm.bias", new long[] {64});
        for (int i = 0; i < 2; i++) {
            String p = "encoder.layer." + i + ".";
            for (String proj : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense")) {
                m.put(p + proj + ".weight", new long[] {64, 64});
                m.put(p + proj + ".bias", new long[] {64});
            }
            m.put(p + "attention.output.LayerNorm.weight", new long[] {64});
            m.put(p + "attention.output.LayerNorm.bias", new long[] {64});
            m.put(p + "intermediate.dense.weight", new long[] {256, 64});
            m.put(p + "intermediate.dense.bias", new long[] {256});
            m.put(p + "output.dense.weight", new long[] {64, 256});
            m.put(p + "output.dense.bias", new long[] {64});
            m.put(p + "output.LayerNorm.weight", new long[] {64});
            m.put(p + "output.LayerNorm.bias", new long[] {64});
        }
        m.put("pooler.dense.weight", new long[] {64, 64});
        m.put("pooler.dense.bias", new long[] {64});
        return m;
    }

    private static void assertTensors(Path file, Map<String, long[]> expected, DType dtype) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(new TreeSet<>(expected.keySet()), f.tensors().stream().map(TensorInfo::name)
                    .collect(Collectors.toCollection(TreeSet::new)));
            for (TensorInfo t : f.tensors()) {
                assertArrayEquals(expected.get(t.name()), t.shape(), t.name());
                assertEquals(dtype, t.dtype(), t.name());
            }
            assertEquals(Map.of("format", "pt"), Map.copyOf(f.metadata()));
        }
    }

    private static JsonNode readJson(Path p) throws IOException {
        return JSON.readTree(p.toFile());
    }

    private static List<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void tinyLlamaHasTransformersNamesShapesAndFiles() throws IOException {
        Path dir = tmp.resolve("llama");
        SynthCheckpoint.Result r = SynthCheckpoint.write(SynthSpec.tinyLlama(), dir);
        assertEquals(List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"),
                fileNames(dir));
        assertEquals(dir.toAbsolutePath(), r.dir());
        assertEquals(fileNames(dir).stream().map(n -> dir.toAbsolutePath().resolve(n)).toList(), r.files());
        assertTensors(dir.resolve("model.safetensors"), tinyLlamaShapes(false), DType.BF16);
        assertEquals(21, r.tensorCount());
        assertEquals(2 * 512 * 64 + 2 * (64 * 64 * 2 + 32 * 64 * 2 + 192 * 64 * 3 + 128) + 64, r.parameterCount());
        assertEquals(2 * r.parameterCount(), r.tensorBytes());

        ModelConfig c = ModelConfig.read(dir.resolve("config.json"));
        assertEquals(Architecture.LLAMA, c.architecture());
        assertEquals(List.of(64, 2, 4, 2, 16, 192, 512), List.of(c.hiddenSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                c.numKeyValueHeads(), c.headDim(), c.intermediateSize(), c.vocabSize()));
        assertFalse(c.tieWordEmbeddings());
        JsonNode raw = readJson(dir.resolve("config.json"));
        assertEquals("bfloat16", raw.get("torch_dtype").asText());
        assertEquals("silu", raw.get("hidden_act").asText());
        assertEquals(1e-5, raw.get("rms_norm_eps").asDouble());
        assertEquals(10000.0, raw.get("rope_theta").asDouble());
        assertEquals(List.of("LlamaForCausalLM"), List.of(raw.get("architectures").get(0).asText()));
    }

    @Test
    void tiedLlamaHasNoLmHead() throws IOException {
        Path dir = tmp.resolve("tied");
        SynthCheckpoint.write(SynthSpec.tinyLlama().withTiedEmbeddings(true).withDtype(DType.F16), dir);
        assertTensors(dir.resolve("model.safetensors"), tinyLlamaShapes(true), DType.F16);
        JsonNode raw = readJson(dir.resolve("config.json"));
        assertTrue(raw.get("tie_word_embeddings").asBoolean());
        assertEquals("float16", raw.get("torch_dtype").asText());
    }

    @Test
    void tinyBertHasTransformersNamesShapesAndFiles() throws IOException {
        Path dir = tmp.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), dir);
        assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"), fileNames(dir));
        assertTensors(dir.resolve("model.safetensors"), tinyBertShapes(), DType.F32);
        ModelConfig c = ModelConfig.read(dir.resolve("config.json"));
        assertEquals(Architecture.BERT, c.architecture());
        assertEquals(1e-12, c.normEps());
        JsonNode raw = readJson(dir.resolve("config.json"));
        assertEquals("gelu", raw.get("hidden_act").asText());
        assertEquals(2, raw.get("type_vocab_size").asInt());
        assertEquals(0, raw.get("pad_token_id").asInt());
        assertEquals("float32", raw.get("torch_dtype").asText());
        // vocab.txt lists the same tokens as tokenizer.json, line number = id.
        List<String> lines = Files.readAllLines(dir.resolve("vocab.txt"));
        JsonNode vocab = readJson(dir.resolve("tokenizer.json")).get("model").get("vocab");
        assertEquals(vocab.size(), lines.size());
        for (int id = 0; id < lines.size(); id++) {
            assertEquals(id, vocab.get(lines.get(id)).asInt());
        }
    }

    @Test
    void coreReadsTheCheckpointAndClassifiesEveryTensor() {
        Path llama = tmp.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama().withMaxShardBytes(totalBytes(SynthSpec.tinyLlama()) / 2), llama);
        try (Checkpoint ck = Checkpoint.open(llama)) {
            assertTrue(ck.shards().size() > 1);
            assertEquals(21, ck.tensors().size());
            assertEquals(TensorRole.Kind.LINEAR, ck.layout().role("model.layers.1.mlp.down_proj.weight").kind());
            assertEquals(TensorRole.Kind.LM_HEAD, ck.layout().role("lm_head.weight").kind());
            assertEquals(TensorRole.Kind.NORM, ck.layout().role("model.norm.weight").kind());
        }
        Path bert = tmp.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
        try (Checkpoint ck = Checkpoint.open(bert)) {
            assertEquals(TensorRole.Kind.BIAS, ck.layout().role("encoder.layer.0.attention.self.query.bias").kind());
            assertEquals(TensorRole.Kind.EMBEDDING, ck.layout().role("embeddings.word_embeddings.weight").kind());
        }
    }

    @Test
    void configVocabularyEqualsTokenizerSize() throws IOException {
        for (SynthSpec spec : List.of(SynthSpec.tinyLlama(), SynthSpec.tinyBert())) {
            Path dir = tmp.resolve(spec.arch().cliName());
            SynthCheckpoint.write(spec, dir);
            JsonNode tok = readJson(dir.resolve("tokenizer.json"));
            int maxId = -1;
            for (JsonNode id : tok.get("model").get("vocab")) {
                maxId = Math.max(maxId, id.asInt());
            }
            for (JsonNode added : tok.get("added_tokens")) {
                maxId = Math.max(maxId, added.get("id").asInt());
            }
            assertEquals(tok.get("model").get("vocab").size(), maxId + 1, "ids are 0..n-1 without gaps");
            assertEquals(readJson(dir.resolve("config.json")).get("vocab_size").asInt(), maxId + 1, spec.toString());
        }
        // The large presets' tokenizers too (trained and padded to 32,000; no weights written).
        for (SynthSpec.Size size : List.of(SynthSpec.Size.SMALL, SynthSpec.Size.B1_1, SynthSpec.Size.B7)) {
            SynthSpec spec = SynthSpec.of(SynthSpec.Arch.LLAMA, size);
            assertEquals(spec.shape().vocab(), SynthTokenizer.train(spec.arch(), spec.shape().vocab()).size());
        }
        SynthSpec small = SynthSpec.of(SynthSpec.Arch.BERT, SynthSpec.Size.SMALL);
        assertEquals(4096, SynthTokenizer.train(small.arch(), small.shape().vocab()).size());
    }

    private static long totalBytes(SynthSpec spec) {
        return SynthCheckpoint.plannedTensors(spec).stream().mapToLong(TensorInfo::byteCount).sum();
    }

    private static List<String> shardNames(Path dir) throws IOException {
        return fileNames(dir).stream().filter(n -> n.startsWith("model-")).toList();
    }

    private static Map<String, byte[]> contents(Path dir) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        for (String name : fileNames(dir)) {
            m.put(name, Files.readAllBytes(dir.resolve(name)));
        }
        return m;
    }

    @Test
    void sameSpecGivesIdenticalBytesForAnyThreadCount() throws IOException {
        SynthSpec small = SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.SMALL).withSeed(7);
        SynthSpec spec = small.withMaxShardBytes(totalBytes(small) / 2);
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        SynthCheckpoint.write(spec, a, new SynthCheckpoint.Options(false, 1));
        SynthCheckpoint.write(spec, b, new SynthCheckpoint.Options(false, 3));
        Map<String, byte[]> ca = contents(a);
        Map<String, byte[]> cb = contents(b);
        assertEquals(ca.keySet(), cb.keySet());
        ca.forEach((name, bytes) -> assertArrayEquals(bytes, cb.get(name), name));
        assertTrue(shardNames(a).size() > 1, shardNames(a).toString());

        Path c = tmp.resolve("c");
        SynthCheckpoint.write(spec.withSeed(8), c);
        Map<String, byte[]> cc = contents(c);
        assertArrayEquals(ca.get("tokenizer.json"), cc.get("tokenizer.json"));
        String first = shardNames(a).getFirst();
        assertFalse(Arrays.equals(ca.get(first), cc.get(first)));
    }

    @Test
    void jsonIsPrettyPrintedWithUnixNewlines() throws IOException {
        Path dir = tmp.resolve("json");
        SynthCheckpoint.write(SynthSpec.tinyBert(), dir);
        String text = Files.readString(dir.resolve("config.json"));
        assertTrue(text.startsWith("{\n  \"architectures\": [\n    \"BertModel\"\n  ],\n"), text);
        assertTrue(text.endsWith("}\n"));
        assertFalse(text.contains("\r"));
    }

    @Test
    void shardedOutputHasAConsistentIndex() throws IOException {
        Path dir = tmp.resolve("sharded");
        SynthSpec spec = SynthSpec.tinyLlama().withMaxShardBytes(totalBytes(SynthSpec.tinyLlama()) / 3);
        SynthCheckpoint.Result r = SynthCheckpoint.write(spec, dir);
        List<String> shardNames = shardNames(dir);
        int n = shardNames.size();
        assertTrue(n >= 3, shardNames.toString());
        for (int i = 0; i < n; i++) {
            assertEquals(String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, n), shardNames.get(i));
        }
        assertFalse(fileNames(dir).contains("model.safetensors"));
        assertEquals(fileNames(dir).stream().map(f -> dir.toAbsolutePath().resolve(f)).toList(), r.files());
        assertTrue(fileNames(dir).contains("model.safetensors.index.json"));

        String indexText = Files.readString(dir.resolve("model.safetensors.index.json"));
        assertTrue(indexText.startsWith("{\n  \"metadata\": {\n    \"total_size\": " + r.tensorBytes() + "\n  },\n  \"weight_map\": {\n"),
                indexText);
        JsonNode index = readJson(dir.resolve("model.safetensors.index.json"));
        Map<String, String> where = new HashMap<>();
        long bytes = 0;
        for (String shard : shardNames) {
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(shard))) {
                assertFalse(f.tensors().isEmpty(), shard);
                for (TensorInfo t : f.tensors()) {
                    assertEquals(null, where.put(t.name(), shard), t.name() + " is in two shards");
                    bytes += t.byteCount();
                }
            }
        }
        assertEquals(bytes, index.get("metadata").get("total_size").asLong());
        assertEquals(r.tensorBytes(), bytes);
        Map<String, String> weightMap = new HashMap<>();
        index.get("weight_map").properties().forEach(e -> weightMap.put(e.getKey(), e.getValue().asText()));
        assertEquals(where, weightMap);
        assertEquals(tinyLlamaShapes(false).keySet(), where.keySet());
    }

    @Test
    void maximumShardSizeSplitsGreedily() throws IOException {
        Path dir = tmp.resolve("bymax");
        long max = 40_000;
        SynthCheckpoint.write(SynthSpec.tinyLlama().withMaxShardBytes(max), dir);
        JsonNode index = readJson(dir.resolve("model.safetensors.index.json"));
        List<String> shards = fileNames(dir).stream().filter(n -> n.startsWith("model-")).toList();
        assertTrue(shards.size() > 3, shards.toString());
        for (String shard : shards) {
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(shard))) {
                long data = f.tensors().stream().mapToLong(TensorInfo::byteCount).sum();
                assertTrue(data <= max || f.tensors().size() == 1, shard + " has " + data + " bytes");
            }
        }
        assertEquals(21, index.get("weight_map").size());
    }

    @Test
    void refusesAnExistingOutputUnlessForcedAndThenReplacesItWhole() throws IOException {
        Path dir = tmp.resolve("out");
        SynthCheckpoint.write(SynthSpec.tinyLlama().withMaxShardBytes(totalBytes(SynthSpec.tinyLlama()) / 3), dir);
        Files.writeString(dir.resolve("README.md"), "mine");
        Map<String, byte[]> before = contents(dir);
        SlimqException e = assertThrows(SlimqException.class, () -> SynthCheckpoint.write(SynthSpec.tinyLlama(), dir));
        assertEquals(Failure.USAGE, e.failure());
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        assertContentsEqual(before, contents(dir));

        // Even an empty directory is an existing output.
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class, () -> SynthCheckpoint.write(SynthSpec.tinyBert(), empty)).failure());
        assertEquals(List.of(), fileNames(empty));

        // With force the whole previous output goes: stale shards, index and foreign files alike.
        SynthCheckpoint.write(SynthSpec.tinyLlama(), dir, new SynthCheckpoint.Options(true, 2));
        assertEquals(List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                "tokenizer_config.json"), fileNames(dir));
        assertEquals(List.of("empty", "out"), fileNames(tmp), "no staging or parked directory is left beside the output");

        Path file = tmp.resolve("plain-file");
        Files.writeString(file, "x");
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> SynthCheckpoint.write(SynthSpec.tinyLlama(), file, new SynthCheckpoint.Options(false, 1))).failure());
        assertEquals("x", Files.readString(file));
        SynthCheckpoint.write(SynthSpec.tinyBert(), file, new SynthCheckpoint.Options(true, 1));
        assertTrue(Files.isRegularFile(file.resolve("vocab.txt")));
    }

    @Test
    void outputsThatCannotBeADirectoryCheckpointAreRefusedBeforeWriting() throws IOException {
        Path missingParent = tmp.resolve("no-such-dir").resolve("out");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), missingParent); // parents are created, as mkdir -p would
        assertTrue(Files.isRegularFile(missingParent.resolve("model.safetensors")));
        Path fileInTheWay = tmp.resolve("plain-file");
        Files.writeString(fileInTheWay, "x");
        assertEquals(Failure.IO, assertThrows(SlimqException.class,
                () -> SynthCheckpoint.write(SynthSpec.tinyLlama(), fileInTheWay.resolve("out"))).failure());
        Path single = tmp.resolve("model.safetensors");
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> SynthCheckpoint.write(SynthSpec.tinyLlama(), single)).failure());
        assertFalse(Files.exists(single));
    }

    @Test
    void aFailingTensorFailsTheWriteAndLeavesNoOutput() throws IOException {
        SynthSpec spec = SynthSpec.tinyLlama().withMaxShardBytes(totalBytes(SynthSpec.tinyLlama()) / 3);
        for (int threads : new int[] {1, 3}) {
            Path dir = tmp.resolve("failed-" + threads);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> SynthCheckpoint.write(spec, dir,
                    new SynthCheckpoint.Options(false, threads), name -> {
                        if (name.equals("model.layers.1.mlp.up_proj.weight")) {
                            throw new IllegalStateException("injected");
                        }
                    }));
            assertEquals("injected", e.getMessage(), "the tensor's own failure, not a cancellation of another");
            assertFalse(Files.exists(dir), "threads " + threads);
        }
        // The largest tensor (claimed first) is held back until the smallest (claimed last) has failed,
        // so it is cancelled at its first block: what is reported is still the failure itself.
        CountDownLatch failedYet = new CountDownLatch(1);
        Path held = tmp.resolve("failed-held");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SynthCheckpoint.write(spec, held,
                new SynthCheckpoint.Options(false, 3), name -> {
                    if (name.equals("model.embed_tokens.weight")) {
                        try {
                            failedYet.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException ie) {
                            Thread.currentThread().interrupt();
                        }
                    } else if (name.equals("model.norm.weight")) {
                        failedYet.countDown();
                        throw new IllegalStateException("injected");
                    }
                }));
        assertEquals("injected", e.getMessage());
        assertFalse(Files.exists(held));
        assertEquals(List.of(), fileNames(tmp), "no staging directory is left behind");

        // Replacing with force: a failure keeps the previous output as it was.
        Path dir = tmp.resolve("kept");
        SynthCheckpoint.write(SynthSpec.tinyBert(), dir);
        Map<String, byte[]> before = contents(dir);
        assertThrows(IllegalStateException.class, () -> SynthCheckpoint.write(spec, dir, new SynthCheckpoint.Options(true, 2),
                name -> {
                    throw new IllegalStateException("injected");
                }));
        assertContentsEqual(before, contents(dir));
        assertEquals(List.of("kept"), fileNames(tmp));
    }

    private static void assertContentsEqual(Map<String, byte[]> expected, Map<String, byte[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, bytes) -> assertArrayEquals(bytes, actual.get(name), name));
    }

    @Test
    void invalidSpecsAreUsageErrors() {
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> SynthSpec.of(SynthSpec.Arch.BERT, SynthSpec.Size.B7)).failure());
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> SynthSpec.tinyBert().withTiedEmbeddings(true)).failure());
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> SynthSpec.tinyLlama().withDtype(DType.I8)).failure());
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> SynthSpec.tinyLlama().withMaxShardBytes(-1)).failure());
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class,
                () -> SynthSpec.Size.fromName("13b")).failure());
        assertEquals(SynthSpec.Size.B1_1, SynthSpec.Size.fromName("1.1B"));
        assertEquals(SynthSpec.Arch.BERT, SynthSpec.Arch.fromName("Bert"));
    }

    @Test
    void plannedTensorsMatchWhatIsWritten() {
        SynthSpec spec = SynthSpec.tinyLlama();
        List<TensorInfo> planned = SynthCheckpoint.plannedTensors(spec);
        assertEquals(List.copyOf(tinyLlamaShapes(false).keySet()), planned.stream().map(TensorInfo::name).toList());
        // The large presets are planned without writing anything: TinyLlama's and Llama-2-7B's sizes.
        assertEquals(1_100_048_384L, SynthCheckpoint.plannedTensors(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.B1_1))
                .stream().mapToLong(TensorInfo::elementCount).sum());
        assertEquals(6_738_415_616L, SynthCheckpoint.plannedTensors(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.B7))
                .stream().mapToLong(TensorInfo::elementCount).sum());
    }
}
