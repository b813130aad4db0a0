package dev.slimq.core.inspect;

import static dev.slimq.core.checkpoint.TestCheckpoints.t;
import static dev.slimq.core.checkpoint.TestCheckpoints.write;
import static dev.slimq.core.checkpoint.TestCheckpoints.writeString;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.inspect.InspectReport.DTypeSummary;
import dev.slimq.core.inspect.InspectReport.RoleSummary;
import dev.slimq.core.inspect.InspectReport.TensorRow;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.progress.ProgressEvent;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.core.stats.TensorStats;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectorTest {
    @TempDir
    Path dir;

    // hidden 8, 1 layer, 2 heads of 4, 1 kv head (k/v are 4 x 8), intermediate 16, vocab 32
    static final String CONFIG = """
            {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 8,
             "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
             "intermediate_size": 16, "vocab_size": 32, "tie_word_embeddings": false, "rms_norm_eps": 1e-5}
            """;

    static final List<TensorInfo> TENSORS = List.of(
            t("model.embed_tokens.weight", DType.BF16, 32, 8),                   // 256
            t("model.layers.0.self_attn.q_proj.weight", DType.BF16, 8, 8),       //  64
            t("model.layers.0.self_attn.k_proj.weight", DType.BF16, 4, 8),       //  32
            t("model.layers.0.self_attn.v_proj.weight", DType.BF16, 4, 8),       //  32
            t("model.layers.0.self_attn.o_proj.weight", DType.BF16, 8, 8),       //  64
            t("model.layers.0.mlp.gate_proj.weight", DType.BF16, 16, 8),         // 128
            t("model.layers.0.mlp.up_proj.weight", DType.BF16, 16, 8),           // 128
            t("model.layers.0.mlp.down_proj.weight", DType.BF16, 8, 16),         // 128
            t("model.layers.0.input_layernorm.weight", DType.BF16, 8),           //   8
            t("model.layers.0.post_attention_layernorm.weight", DType.BF16, 8),  //   8
            t("model.norm.weight", DType.BF16, 8),                               //   8
            t("lm_head.weight", DType.BF16, 32, 8));                             // 256

    static final long PARAMS = 256 + 64 + 32 + 32 + 64 + 128 + 128 + 128 + 8 + 8 + 8 + 256; // 1112

    static final float[] NORM = {1, 2, 3, 4, 5, 6, 7, 8};

    Path llama() {
        Path ckpt = dir.resolve("tiny-llama");
        try {
            Files.createDirectories(ckpt);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        write(ckpt.resolve("model.safetensors"), TENSORS, Map.of("model.norm.weight", NORM));
        writeString(ckpt.resolve("config.json"), CONFIG);
        writeString(ckpt.resolve("tokenizer.json"), "{}");
        return ckpt;
    }

    static InspectReport inspect(Checkpoint c, boolean tensors, boolean stats, ProgressListener progress) {
        try (WorkPool pool = new WorkPool(2)) {
            return Inspector.inspect(c, new Inspector.Options(tensors, stats), pool, progress);
        }
    }

    @Test
    void summaryOfATinyLlama() throws IOException {
        Path ckpt = llama();
        try (Checkpoint c = Checkpoint.open(ckpt)) {
            InspectReport r = inspect(c, false, false, ProgressListener.NONE);
            assertEquals(ckpt.toString(), r.path());
            assertEquals("llama", r.architecture());
            assertEquals("llama", r.modelType());
            assertEquals(1112, PARAMS);
            assertEquals(PARAMS, r.parameters());
            assertEquals(2 * PARAMS, r.tensorBytes());
            assertEquals(Files.size(ckpt.resolve("model.safetensors")), r.fileBytes());
            assertEquals(12, r.tensorCount());
            assertEquals(1, r.shards());
            assertEquals(1, r.layers());
            assertEquals(Map.of("BF16", new DTypeSummary(12, 1112, 2224)), r.dtypes());
            // linear: q 64 + k 32 + v 32 + o 64 + gate 128 + up 128 + down 128 = 576; norms 3 x 8
            Map<String, RoleSummary> roles = new LinkedHashMap<>();
            roles.put("embedding", new RoleSummary(1, 256));
            roles.put("linear", new RoleSummary(7, 576));
            roles.put("lm_head", new RoleSummary(1, 256));
            roles.put("norm", new RoleSummary(3, 24));
            assertEquals(roles, r.roles());
            assertEquals(List.copyOf(roles.keySet()), List.copyOf(r.roles().keySet()), "roles sorted by name");
            Map<String, Object> model = new LinkedHashMap<>();
            model.put("hidden_size", 8);
            model.put("num_hidden_layers", 1);
            model.put("num_attention_heads", 2);
            model.put("num_key_value_heads", 1);
            model.put("head_dim", 4);
            model.put("intermediate_size", 16);
            model.put("vocab_size", 32);
            model.put("tied_embeddings", false);
            assertEquals(model, r.model());
            assertEquals(Map.of("format", "pt"), r.metadata());
            assertNull(r.tensors(), "no rows unless asked for");
        }
    }

    @Test
    void tensorRowsWithoutStats() {
        try (Checkpoint c = Checkpoint.open(llama())) {
            InspectReport r = inspect(c, true, false, ProgressListener.NONE);
            assertEquals(12, r.tensors().size());
            assertEquals(c.tensors().stream().map(TensorInfo::name).toList(), r.tensors().stream().map(TensorRow::name).toList(),
                    "checkpoint order");
            Map<String, TensorRow> rows = new LinkedHashMap<>();
            r.tensors().forEach(row -> rows.put(row.name(), row));
            TensorRow k = rows.get("model.layers.0.self_attn.k_proj.weight");
            assertEquals("BF16", k.dtype());
            assertArrayEquals(new long[] {4, 8}, k.shape());
            assertEquals(32, k.parameters());
            assertEquals(64, k.bytes());
            assertEquals("linear", k.role());
            assertEquals("k", k.linearRole());
            assertEquals(0, k.layer());
            assertEquals("model.safetensors", k.shard());
            assertEquals("down", rows.get("model.layers.0.mlp.down_proj.weight").linearRole());
            TensorRow emb = rows.get("model.embed_tokens.weight");
            assertEquals("embedding", emb.role());
            assertNull(emb.linearRole());
            assertNull(emb.layer());
            assertEquals("lm_head", rows.get("lm_head.weight").role());
            assertEquals("norm", rows.get("model.layers.0.input_layernorm.weight").role());
            assertEquals(0, rows.get("model.layers.0.input_layernorm.weight").layer());
            assertTrue(r.tensors().stream().allMatch(row -> row.stats() == null), "stats only when requested");
            assertEquals(PARAMS, r.tensors().stream().mapToLong(TensorRow::parameters).sum());
        }
    }

    @Test
    void statsWhenRequested() {
        try (Checkpoint c = Checkpoint.open(llama())) {
            List<ProgressEvent> events = Collections.synchronizedList(new ArrayList<>());
            InspectReport r = inspect(c, false, true, events::add);
            assertEquals(12, r.tensors().size(), "stats imply rows");
            TensorRow norm = r.tensors().stream().filter(row -> row.name().equals("model.norm.weight")).findFirst().orElseThrow();
            TensorStats s = norm.stats();
            assertNotNull(s);
            // 1..8: mean 4.5, population variance (8^2 - 1) / 12 = 5.25
            assertEquals(8, s.count());
            assertEquals(4.5, s.mean(), 1e-12);
            assertEquals(Math.sqrt(5.25), s.std(), 1e-12);
            assertEquals(1.0, s.min());
            assertEquals(8.0, s.max());
            assertEquals(8.0, s.absmax());
            assertEquals(0.0, s.beyond3Sigma());
            for (TensorRow row : r.tensors()) {
                assertNotNull(row.stats(), row.name());
                assertEquals(row.parameters(), row.stats().count());
                assertEquals(row.parameters(), row.stats().finite());
                assertEquals(row.name().equals("model.norm.weight") ? 8.0 : 1.5, row.stats().absmax(), row.name());
            }
            // progress: the task announced at 0, then advanced to every byte of tensor data
            assertFalse(events.isEmpty());
            assertEquals(0, events.getFirst().done());
            assertEquals(2 * PARAMS, events.getFirst().total());
            assertEquals(2 * PARAMS, events.stream().mapToLong(ProgressEvent::done).max().orElseThrow());
            // the same stats from a single-threaded pool
            try (WorkPool one = new WorkPool(1)) {
                InspectReport r1 = Inspector.inspect(c, new Inspector.Options(true, true), one, ProgressListener.NONE);
                for (int i = 0; i < 12; i++) {
                    assertEquals(r.tensors().get(i).stats(), r1.tensors().get(i).stats());
                }
            }
        }
    }

    @Test
    void shardedCheckpointRowsNameTheirShard() throws IOException {
        Path in = llama();
        Path out = dir.resolve("sharded");
        try (Checkpoint c = Checkpoint.open(in);
             CheckpointWriter w = CheckpointWriter.create(out, c.tensors(), c.metadata(), 600, c)) {
            for (TensorInfo t : c.tensors()) {
                try (TensorView v = c.map(t.name()); var s = w.open(t.name())) {
                    s.write(v.segment());
                }
            }
            w.commit();
        }
        try (Checkpoint c = Checkpoint.open(out)) {
            InspectReport r = inspect(c, true, true, ProgressListener.NONE);
            assertTrue(r.shards() > 1);
            assertEquals(PARAMS, r.parameters());
            assertEquals("llama", r.architecture());
            assertTrue(r.tensors().stream().allMatch(row -> row.shard().matches("model-0000\\d-of-0000\\d\\.safetensors")));
            assertEquals(r.shards(), r.tensors().stream().map(TensorRow::shard).distinct().count());
            TensorRow norm = r.tensors().stream().filter(row -> row.name().equals("model.norm.weight")).findFirst().orElseThrow();
            assertEquals(4.5, norm.stats().mean(), 1e-12);
        }
    }

    @Test
    void withoutConfigTheArchitectureIsUnknownAndDtypesAreBrokenDown() throws IOException {
        Path file = dir.resolve("bare.safetensors");
        write(file, List.of(t("a.weight", DType.F32, 4, 6), t("b.weight", DType.F16, 6, 4), t("c.norm.weight", DType.BF16, 4),
                t("d.bias", DType.F32, 6)));
        try (Checkpoint c = Checkpoint.open(file)) {
            InspectReport r = inspect(c, false, false, ProgressListener.NONE);
            assertEquals("unknown", r.architecture());
            assertNull(r.modelType());
            assertEquals(24 + 24 + 4 + 6, r.parameters());
            Map<String, DTypeSummary> dtypes = new LinkedHashMap<>();
            dtypes.put("BF16", new DTypeSummary(1, 4, 8));
            dtypes.put("F16", new DTypeSummary(1, 24, 48));
            dtypes.put("F32", new DTypeSummary(2, 30, 120));
            assertEquals(dtypes, r.dtypes());
            assertEquals(List.copyOf(dtypes.keySet()), List.copyOf(r.dtypes().keySet()), "sorted by dtype name");
            assertEquals(Map.of("tied_embeddings", false), r.model());
            assertEquals(Files.size(file), r.fileBytes());
            assertEquals(file.toString(), r.path());
        }
    }
}
