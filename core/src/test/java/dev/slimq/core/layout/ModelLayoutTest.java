package dev.slimq.core.layout;

import static dev.slimq.core.layout.ModelConfigTest.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.layout.TensorRole.Kind;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class ModelLayoutTest {

    // ---- expected-value helpers: plain data, nothing from the code under test ----

    static TensorInfo t(String name, long... shape) {
        return TensorInfo.planned(name, DType.BF16, shape);
    }

    static TensorRole linear(LinearRole role, int layer, String group) {
        return new TensorRole(Kind.LINEAR, Optional.of(role), OptionalInt.of(layer), group, Optional.empty());
    }

    static TensorRole linear(LinearRole role, String name) {
        return new TensorRole(Kind.LINEAR, Optional.of(role), OptionalInt.empty(), name, Optional.empty());
    }

    static TensorRole kind(Kind kind, String name) {
        return new TensorRole(kind, Optional.empty(), OptionalInt.empty(), name, Optional.empty());
    }

    static TensorRole kind(Kind kind, int layer, String name) {
        return new TensorRole(kind, Optional.empty(), OptionalInt.of(layer), name, Optional.empty());
    }

    static TensorRole bias(int layer, String name, String owner) {
        return new TensorRole(Kind.BIAS, Optional.empty(), OptionalInt.of(layer), name, Optional.of(owner));
    }

    static TensorRole bias(String name, Optional<String> owner) {
        return new TensorRole(Kind.BIAS, Optional.empty(), OptionalInt.empty(), name, owner);
    }

    // ---- checkpoints: hidden 64, 4 query heads and 2 key/value heads of 16, intermediate 128, vocab 100 ----

    static final String LLAMA_CONFIG = """
            {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100, "tie_word_embeddings": %s}""";

    static List<TensorInfo> llamaTensors(int layers, boolean lmHead) {
        List<TensorInfo> ts = new ArrayList<>();
        ts.add(t("model.embed_tokens.weight", 100, 64));
        ts.add(t("model.norm.weight", 64));
        if (lmHead) {
            ts.add(t("lm_head.weight", 100, 64));
        }
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            ts.add(t(p + "self_attn.q_proj.weight", 64, 64));
            ts.add(t(p + "self_attn.k_proj.weight", 32, 64));
            ts.add(t(p + "self_attn.v_proj.weight", 32, 64));
            ts.add(t(p + "self_attn.o_proj.weight", 64, 64));
            ts.add(t(p + "mlp.gate_proj.weight", 128, 64));
            ts.add(t(p + "mlp.up_proj.weight", 128, 64));
            ts.add(t(p + "mlp.down_proj.weight", 64, 128));
            ts.add(t(p + "input_layernorm.weight", 64));
            ts.add(t(p + "post_attention_layernorm.weight", 64));
        }
        return ts;
    }

    static ModelLayout llama(boolean configTies, boolean lmHead) {
        return ModelLayout.of(Optional.of(config(LLAMA_CONFIG.formatted(configTies))), llamaTensors(2, lmHead));
    }

    @Test
    void llamaRolesAndLayers() {
        ModelLayout layout = llama(false, true);
        assertEquals(Architecture.LLAMA, layout.architecture());
        assertEquals(2, layout.numLayers());
        assertEquals(linear(LinearRole.Q, 1, "layers.1.attn_in"), layout.role("model.layers.1.self_attn.q_proj.weight"));
        assertEquals(linear(LinearRole.K, 0, "layers.0.attn_in"), layout.role("model.layers.0.self_attn.k_proj.weight"));
        assertEquals(linear(LinearRole.V, 0, "layers.0.attn_in"), layout.role("model.layers.0.self_attn.v_proj.weight"));
        assertEquals(linear(LinearRole.O, 0, "model.layers.0.self_attn.o_proj.weight"),
                layout.role("model.layers.0.self_attn.o_proj.weight"));
        assertEquals(linear(LinearRole.GATE, 1, "layers.1.mlp_in"), layout.role("model.layers.1.mlp.gate_proj.weight"));
        assertEquals(linear(LinearRole.UP, 1, "layers.1.mlp_in"), layout.role("model.layers.1.mlp.up_proj.weight"));
        assertEquals(linear(LinearRole.DOWN, 1, "model.layers.1.mlp.down_proj.weight"),
                layout.role("model.layers.1.mlp.down_proj.weight"));
        assertEquals(kind(Kind.NORM, 0, "model.layers.0.input_layernorm.weight"),
                layout.role("model.layers.0.input_layernorm.weight"));
        assertEquals(kind(Kind.NORM, 1, "model.layers.1.post_attention_layernorm.weight"),
                layout.role("model.layers.1.post_attention_layernorm.weight"));
        assertEquals(kind(Kind.NORM, "model.norm.weight"), layout.role("model.norm.weight"));
        assertEquals(kind(Kind.EMBEDDING, "model.embed_tokens.weight"), layout.role("model.embed_tokens.weight"));
        assertEquals(kind(Kind.LM_HEAD, "lm_head.weight"), layout.role("lm_head.weight"));
        assertEquals(OptionalInt.of(1), layout.layerOf("model.layers.1.mlp.up_proj.weight"));
        assertEquals(OptionalInt.empty(), layout.layerOf("lm_head.weight"));
        assertEquals(14, layout.linearWeights().size());
        assertEquals(List.of("model.embed_tokens.weight"), names(layout.tensorsOf(Kind.EMBEDDING)));
    }

    @Test
    void llamaTensorsInNaturalOrderAndFusedGroups() {
        ModelLayout layout = llama(false, true);
        assertEquals(List.of(
                "lm_head.weight",
                "model.embed_tokens.weight",
                "model.layers.0.input_layernorm.weight",
                "model.layers.0.mlp.down_proj.weight",
                "model.layers.0.mlp.gate_proj.weight",
                "model.layers.0.mlp.up_proj.weight",
                "model.layers.0.post_attention_layernorm.weight",
                "model.layers.0.self_attn.k_proj.weight",
                "model.layers.0.self_attn.o_proj.weight",
                "model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.v_proj.weight",
                "model.layers.1.input_layernorm.weight",
                "model.layers.1.mlp.down_proj.weight",
                "model.layers.1.mlp.gate_proj.weight",
                "model.layers.1.mlp.up_proj.weight",
                "model.layers.1.post_attention_layernorm.weight",
                "model.layers.1.self_attn.k_proj.weight",
                "model.layers.1.self_attn.o_proj.weight",
                "model.layers.1.self_attn.q_proj.weight",
                "model.layers.1.self_attn.v_proj.weight",
                "model.norm.weight"), names(layout.tensors()));
        assertEquals(List.of(
                Map.entry("model.layers.0.mlp.down_proj.weight", List.of("model.layers.0.mlp.down_proj.weight")),
                Map.entry("layers.0.mlp_in", List.of("model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight")),
                Map.entry("layers.0.attn_in", List.of("model.layers.0.self_attn.k_proj.weight",
                        "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.v_proj.weight")),
                Map.entry("model.layers.0.self_attn.o_proj.weight", List.of("model.layers.0.self_attn.o_proj.weight")),
                Map.entry("model.layers.1.mlp.down_proj.weight", List.of("model.layers.1.mlp.down_proj.weight")),
                Map.entry("layers.1.mlp_in", List.of("model.layers.1.mlp.gate_proj.weight", "model.layers.1.mlp.up_proj.weight")),
                Map.entry("layers.1.attn_in", List.of("model.layers.1.self_attn.k_proj.weight",
                        "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.v_proj.weight")),
                Map.entry("model.layers.1.self_attn.o_proj.weight", List.of("model.layers.1.self_attn.o_proj.weight"))),
                List.copyOf(layout.fusedGroups().entrySet()));
    }

    @Test
    void tiedEmbeddingsFromConfigOrMissingHead() {
        assertFalse(llama(false, true).tiedEmbeddings());
        assertTrue(llama(true, false).tiedEmbeddings());
        assertTrue(llama(false, false).tiedEmbeddings());
        assertTrue(llama(true, true).tiedEmbeddings());
    }

    @Test
    void qwen2BiasesBelongToTheirProjection() {
        List<TensorInfo> ts = llamaTensors(2, false);
        ts.add(t("model.layers.0.self_attn.q_proj.bias", 64));
        ts.add(t("model.layers.0.self_attn.k_proj.bias", 32));
        ts.add(t("model.layers.1.self_attn.v_proj.bias", 32));
        ModelLayout layout = ModelLayout.of(Optional.of(config("""
                {"model_type": "qwen2", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100, "tie_word_embeddings": true}""")), ts);
        assertEquals(Architecture.QWEN2, layout.architecture());
        assertEquals(bias(0, "model.layers.0.self_attn.q_proj.bias", "model.layers.0.self_attn.q_proj.weight"),
                layout.role("model.layers.0.self_attn.q_proj.bias"));
        assertEquals(bias(0, "model.layers.0.self_attn.k_proj.bias", "model.layers.0.self_attn.k_proj.weight"),
                layout.role("model.layers.0.self_attn.k_proj.bias"));
        assertEquals(bias(1, "model.layers.1.self_attn.v_proj.bias", "model.layers.1.self_attn.v_proj.weight"),
                layout.role("model.layers.1.self_attn.v_proj.bias"));
        assertEquals(List.of("model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.v_proj.weight"), layout.fusedGroups().get("layers.0.attn_in"));
        assertTrue(layout.tiedEmbeddings());
    }

    @Test
    void qwen3WithExplicitHeadDimAndQkNorms() {
        // 8 heads of 16 on a hidden size of 64: q_proj is [128, 64], o_proj [64, 128].
        List<TensorInfo> ts = List.of(
                t("model.embed_tokens.weight", 100, 64),
                t("model.layers.0.self_attn.q_proj.weight", 128, 64),
                t("model.layers.0.self_attn.k_proj.weight", 32, 64),
                t("model.layers.0.self_attn.v_proj.weight", 32, 64),
                t("model.layers.0.self_attn.o_proj.weight", 64, 128),
                t("model.layers.0.self_attn.q_norm.weight", 16),
                t("model.layers.0.self_attn.k_norm.weight", 16),
                t("model.layers.0.mlp.gate_proj.weight", 96, 64),
                t("model.layers.0.mlp.up_proj.weight", 96, 64),
                t("model.layers.0.mlp.down_proj.weight", 64, 96),
                t("model.norm.weight", 64),
                t("lm_head.weight", 100, 64));
        ModelLayout layout = ModelLayout.of(Optional.of(config("""
                {"model_type": "qwen3", "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 8,
                 "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 96, "vocab_size": 100}""")), ts);
        assertEquals(Architecture.QWEN3, layout.architecture());
        assertEquals(kind(Kind.NORM, 0, "model.layers.0.self_attn.q_norm.weight"), layout.role("model.layers.0.self_attn.q_norm.weight"));
        assertEquals(kind(Kind.NORM, 0, "model.layers.0.self_attn.k_norm.weight"), layout.role("model.layers.0.self_attn.k_norm.weight"));
        assertEquals(linear(LinearRole.O, 0, "model.layers.0.self_attn.o_proj.weight"), layout.role("model.layers.0.self_attn.o_proj.weight"));
        assertEquals(1, layout.numLayers());
        assertFalse(layout.tiedEmbeddings());
    }

    @Test
    void gemma2ExtraNormsAndDefaultTie() {
        List<TensorInfo> ts = llamaTensors(2, false);
        ts.add(t("model.layers.0.pre_feedforward_layernorm.weight", 64));
        ts.add(t("model.layers.0.post_feedforward_layernorm.weight", 64));
        ModelLayout layout = ModelLayout.of(Optional.of(config("""
                {"model_type": "gemma2", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128, "vocab_size": 100}""")), ts);
        assertEquals(Architecture.GEMMA2, layout.architecture());
        assertEquals(kind(Kind.NORM, 0, "model.layers.0.pre_feedforward_layernorm.weight"),
                layout.role("model.layers.0.pre_feedforward_layernorm.weight"));
        assertEquals(kind(Kind.NORM, 0, "model.layers.0.post_feedforward_layernorm.weight"),
                layout.role("model.layers.0.post_feedforward_layernorm.weight"));
        assertTrue(layout.tiedEmbeddings());
    }

    @Test
    void phi3FusedProjections() {
        List<TensorInfo> ts = List.of(
                t("model.embed_tokens.weight", 100, 64),
                t("model.layers.0.self_attn.qkv_proj.weight", 128, 64),  // (4 + 2 * 2) heads of 16
                t("model.layers.0.self_attn.o_proj.weight", 64, 64),
                t("model.layers.0.mlp.gate_up_proj.weight", 256, 64),
                t("model.layers.0.mlp.down_proj.weight", 64, 128),
                t("model.layers.0.input_layernorm.weight", 64),
                t("model.layers.0.post_attention_layernorm.weight", 64),
                t("model.norm.weight", 64),
                t("lm_head.weight", 100, 64));
        ModelLayout layout = ModelLayout.of(Optional.of(config("""
                {"model_type": "phi3", "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100}""")), ts);
        assertEquals(linear(LinearRole.QKV, 0, "layers.0.attn_in"), layout.role("model.layers.0.self_attn.qkv_proj.weight"));
        assertEquals(linear(LinearRole.GATE_UP, 0, "layers.0.mlp_in"), layout.role("model.layers.0.mlp.gate_up_proj.weight"));
        assertEquals(List.of("model.layers.0.self_attn.qkv_proj.weight"), layout.fusedGroups().get("layers.0.attn_in"));
        assertEquals(List.of("model.layers.0.mlp.gate_up_proj.weight"), layout.fusedGroups().get("layers.0.mlp_in"));
        assertFalse(layout.tiedEmbeddings());
    }

    // ---- BERT: hidden 32, 2 heads, intermediate 64, vocab 50, 2 layers ----

    static final String BERT_CONFIG = """
            {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 50, "max_position_embeddings": 16,
             "type_vocab_size": 2}""";

    static List<TensorInfo> bertTensors(String prefix) {
        List<TensorInfo> ts = new ArrayList<>();
        ts.add(t(prefix + "embeddings.word_embeddings.weight", 50, 32));
        ts.add(t(prefix + "embeddings.position_embeddings.weight", 16, 32));
        ts.add(t(prefix + "embeddings.token_type_embeddings.weight", 2, 32));
        ts.add(t(prefix + "embeddings.LayerNorm.weight", 32));
        ts.add(t(prefix + "embeddings.LayerNorm.bias", 32));
        ts.add(TensorInfo.planned(prefix + "embeddings.position_ids", DType.I64, 1, 16));
        for (int i = 0; i < 2; i++) {
            String p = prefix + "encoder.layer." + i + ".";
            for (String m : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense")) {
                ts.add(t(p + m + ".weight", 32, 32));
                ts.add(t(p + m + ".bias", 32));
            }
            ts.add(t(p + "attention.output.LayerNorm.weight", 32));
            ts.add(t(p + "attention.output.LayerNorm.bias", 32));
            ts.add(t(p + "intermediate.dense.weight", 64, 32));
            ts.add(t(p + "intermediate.dense.bias", 64));
            ts.add(t(p + "output.dense.weight", 32, 64));
            ts.add(t(p + "output.dense.bias", 32));
            ts.add(t(p + "output.LayerNorm.weight", 32));
            ts.add(t(p + "output.LayerNorm.bias", 32));
        }
        ts.add(t(prefix + "pooler.dense.weight", 32, 32));
        ts.add(t(prefix + "pooler.dense.bias", 32));
        return ts;
    }

    @Test
    void bertModelWithoutPrefix() {
        ModelLayout layout = ModelLayout.of(Optional.of(config(BERT_CONFIG)), bertTensors(""));
        assertEquals(Architecture.BERT, layout.architecture());
        assertEquals(2, layout.numLayers());
        assertEquals(kind(Kind.EMBEDDING, "embeddings.word_embeddings.weight"), layout.role("embeddings.word_embeddings.weight"));
        assertEquals(kind(Kind.POSITION_EMBEDDING, "embeddings.position_embeddings.weight"),
                layout.role("embeddings.position_embeddings.weight"));
        assertEquals(kind(Kind.POSITION_EMBEDDING, "embeddings.token_type_embeddings.weight"),
                layout.role("embeddings.token_type_embeddings.weight"));
        assertEquals(kind(Kind.NORM, "embeddings.LayerNorm.weight"), layout.role("embeddings.LayerNorm.weight"));
        assertEquals(kind(Kind.NORM, "embeddings.LayerNorm.bias"), layout.role("embeddings.LayerNorm.bias"));
        assertEquals(kind(Kind.OTHER, "embeddings.position_ids"), layout.role("embeddings.position_ids"));
        assertEquals(linear(LinearRole.BERT_QUERY, 1, "layers.1.attn_in"), layout.role("encoder.layer.1.attention.self.query.weight"));
        assertEquals(linear(LinearRole.BERT_KEY, 1, "layers.1.attn_in"), layout.role("encoder.layer.1.attention.self.key.weight"));
        assertEquals(linear(LinearRole.BERT_VALUE, 0, "layers.0.attn_in"), layout.role("encoder.layer.0.attention.self.value.weight"));
        assertEquals(linear(LinearRole.BERT_ATTN_OUT, 0, "encoder.layer.0.attention.output.dense.weight"),
                layout.role("encoder.layer.0.attention.output.dense.weight"));
        assertEquals(linear(LinearRole.BERT_INTERMEDIATE, 0, "encoder.layer.0.intermediate.dense.weight"),
                layout.role("encoder.layer.0.intermediate.dense.weight"));
        assertEquals(linear(LinearRole.BERT_OUTPUT, 1, "encoder.layer.1.output.dense.weight"),
                layout.role("encoder.layer.1.output.dense.weight"));
        assertEquals(linear(LinearRole.BERT_POOLER, "pooler.dense.weight"), layout.role("pooler.dense.weight"));
        assertEquals(bias(1, "encoder.layer.1.attention.self.query.bias", "encoder.layer.1.attention.self.query.weight"),
                layout.role("encoder.layer.1.attention.self.query.bias"));
        assertEquals(bias(0, "encoder.layer.0.output.dense.bias", "encoder.layer.0.output.dense.weight"),
                layout.role("encoder.layer.0.output.dense.bias"));
        assertEquals(bias("pooler.dense.bias", Optional.of("pooler.dense.weight")), layout.role("pooler.dense.bias"));
        assertEquals(kind(Kind.NORM, 0, "encoder.layer.0.attention.output.LayerNorm.bias"),
                layout.role("encoder.layer.0.attention.output.LayerNorm.bias"));
        assertEquals(kind(Kind.NORM, 1, "encoder.layer.1.output.LayerNorm.weight"),
                layout.role("encoder.layer.1.output.LayerNorm.weight"));
        assertEquals(List.of("encoder.layer.0.attention.self.key.weight", "encoder.layer.0.attention.self.query.weight",
                "encoder.layer.0.attention.self.value.weight"), layout.fusedGroups().get("layers.0.attn_in"));
        assertEquals(13, layout.linearWeights().size());
        assertFalse(layout.tiedEmbeddings());  // a bare encoder has no output head
    }

    @Test
    void bertForMaskedLmWithPrefixAndTiedDecoder() {
        List<TensorInfo> ts = bertTensors("bert.");
        ts.add(t("cls.predictions.transform.dense.weight", 32, 32));
        ts.add(t("cls.predictions.transform.dense.bias", 32));
        ts.add(t("cls.predictions.transform.LayerNorm.weight", 32));
        ts.add(t("cls.predictions.transform.LayerNorm.bias", 32));
        ts.add(t("cls.predictions.bias", 50));
        ModelLayout layout = ModelLayout.of(Optional.of(config(BERT_CONFIG.replace("BertModel", "BertForMaskedLM"))), ts);
        assertEquals(kind(Kind.EMBEDDING, "bert.embeddings.word_embeddings.weight"), layout.role("bert.embeddings.word_embeddings.weight"));
        assertEquals(linear(LinearRole.BERT_QUERY, 0, "layers.0.attn_in"), layout.role("bert.encoder.layer.0.attention.self.query.weight"));
        assertEquals(linear(LinearRole.BERT_ATTN_OUT, 1, "bert.encoder.layer.1.attention.output.dense.weight"),
                layout.role("bert.encoder.layer.1.attention.output.dense.weight"));
        assertEquals(linear(LinearRole.BERT_POOLER, "bert.pooler.dense.weight"), layout.role("bert.pooler.dense.weight"));
        assertEquals(linear(LinearRole.OTHER_LINEAR, "cls.predictions.transform.dense.weight"),
                layout.role("cls.predictions.transform.dense.weight"));
        assertEquals(kind(Kind.NORM, "cls.predictions.transform.LayerNorm.weight"),
                layout.role("cls.predictions.transform.LayerNorm.weight"));
        assertEquals(bias("cls.predictions.bias", Optional.empty()), layout.role("cls.predictions.bias"));
        assertEquals(List.of(), layout.tensorsOf(Kind.LM_HEAD));
        assertTrue(layout.tiedEmbeddings());
    }

    @Test
    void robertaMaskedLmHead() {
        List<TensorInfo> ts = bertTensors("roberta.");
        ts.add(t("lm_head.dense.weight", 32, 32));
        ts.add(t("lm_head.dense.bias", 32));
        ts.add(t("lm_head.layer_norm.weight", 32));
        ts.add(t("lm_head.layer_norm.bias", 32));
        ts.add(t("lm_head.decoder.weight", 50, 32));
        ts.add(t("lm_head.bias", 50));
        ModelLayout layout = ModelLayout.of(Optional.of(config(BERT_CONFIG
                .replace("\"bert\"", "\"roberta\"").replace("BertModel", "RobertaForMaskedLM"))), ts);
        assertEquals(Architecture.ROBERTA, layout.architecture());
        assertEquals(kind(Kind.LM_HEAD, "lm_head.decoder.weight"), layout.role("lm_head.decoder.weight"));
        assertEquals(bias("lm_head.bias", Optional.of("lm_head.decoder.weight")), layout.role("lm_head.bias"));
        assertEquals(linear(LinearRole.OTHER_LINEAR, "lm_head.dense.weight"), layout.role("lm_head.dense.weight"));
        assertEquals(kind(Kind.NORM, "lm_head.layer_norm.bias"), layout.role("lm_head.layer_norm.bias"));
        assertTrue(layout.tiedEmbeddings());  // the config does not untie, so transformers ties the decoder
    }

    // ---- without a config ----

    @Test
    void configlessGpt2StyleCheckpoint() {
        List<TensorInfo> ts = List.of(
                t("transformer.wte.weight", 100, 32),
                t("transformer.wpe.weight", 16, 32),
                t("transformer.h.0.ln_1.weight", 32),
                t("transformer.h.0.ln_1.bias", 32),
                t("transformer.h.0.attn.c_attn.weight", 32, 96),
                t("transformer.h.0.attn.c_attn.bias", 96),
                t("transformer.h.0.attn.bias", 1, 1, 16, 16),
                t("transformer.h.0.mlp.c_fc.weight", 32, 128),
                t("transformer.h.11.mlp.c_fc.weight", 32, 128),
                t("transformer.h.2.mlp.c_fc.weight", 32, 128),
                t("transformer.ln_f.weight", 32));
        ModelLayout layout = ModelLayout.of(Optional.empty(), ts);
        assertEquals(Architecture.UNKNOWN, layout.architecture());
        assertEquals(Optional.empty(), layout.config());
        assertEquals(kind(Kind.EMBEDDING, "transformer.wte.weight"), layout.role("transformer.wte.weight"));
        assertEquals(kind(Kind.POSITION_EMBEDDING, "transformer.wpe.weight"), layout.role("transformer.wpe.weight"));
        assertEquals(kind(Kind.NORM, 0, "transformer.h.0.ln_1.weight"), layout.role("transformer.h.0.ln_1.weight"));
        assertEquals(kind(Kind.NORM, 0, "transformer.h.0.ln_1.bias"), layout.role("transformer.h.0.ln_1.bias"));
        assertEquals(kind(Kind.NORM, "transformer.ln_f.weight"), layout.role("transformer.ln_f.weight"));
        assertEquals(linear(LinearRole.OTHER_LINEAR, 0, "transformer.h.0.attn.c_attn.weight"),
                layout.role("transformer.h.0.attn.c_attn.weight"));
        assertEquals(bias(0, "transformer.h.0.attn.c_attn.bias", "transformer.h.0.attn.c_attn.weight"),
                layout.role("transformer.h.0.attn.c_attn.bias"));
        assertEquals(kind(Kind.OTHER, 0, "transformer.h.0.attn.bias"), layout.role("transformer.h.0.attn.bias"));
        assertEquals(OptionalInt.of(11), layout.layerOf("transformer.h.11.mlp.c_fc.weight"));
        assertEquals(12, layout.numLayers());
        assertEquals(List.of("transformer.h.0.attn.c_attn.weight", "transformer.h.0.mlp.c_fc.weight",
                "transformer.h.2.mlp.c_fc.weight", "transformer.h.11.mlp.c_fc.weight"), names(layout.linearWeights()));
        assertEquals(List.of("transformer.h.0.attn.c_attn.weight", "transformer.h.0.mlp.c_fc.weight",
                "transformer.h.2.mlp.c_fc.weight", "transformer.h.11.mlp.c_fc.weight"), List.copyOf(layout.fusedGroups().keySet()));
        assertTrue(layout.tiedEmbeddings());
    }

    @Test
    void configlessVocabularyFromNamedTensorsAndOutputHeads() {
        List<TensorInfo> ts = List.of(
                t("tok_embeddings.weight", 100, 32),
                t("tokens.weight", 100, 32),  // vocabulary-sized outside any layer: an embedding
                t("output.weight", 100, 32),
                t("layers.0.attention.wq.weight", 32, 32),
                t("layers.0.feed_forward.w1.weight", 100, 32),  // inside a layer: linear whatever its size
                TensorInfo.planned("layers.0.attention.wq.qweight", DType.I32, 4, 32),
                t("layers.0.attention_norm.weight", 32),
                t("norm.weight", 32));
        ModelLayout layout = ModelLayout.of(Optional.empty(), ts);
        assertEquals(kind(Kind.EMBEDDING, "tok_embeddings.weight"), layout.role("tok_embeddings.weight"));
        assertEquals(kind(Kind.EMBEDDING, "tokens.weight"), layout.role("tokens.weight"));
        assertEquals(kind(Kind.LM_HEAD, "output.weight"), layout.role("output.weight"));
        assertEquals(linear(LinearRole.OTHER_LINEAR, 0, "layers.0.feed_forward.w1.weight"), layout.role("layers.0.feed_forward.w1.weight"));
        assertEquals(kind(Kind.OTHER, 0, "layers.0.attention.wq.qweight"), layout.role("layers.0.attention.wq.qweight"));
        assertEquals(kind(Kind.NORM, 0, "layers.0.attention_norm.weight"), layout.role("layers.0.attention_norm.weight"));
        assertEquals(1, layout.numLayers());
        assertFalse(layout.tiedEmbeddings());
    }

    @Test
    void configlessLlamaNamesAreLinearButNotFused() {
        ModelLayout layout = ModelLayout.of(Optional.empty(), llamaTensors(1, true));
        assertEquals(linear(LinearRole.OTHER_LINEAR, 0, "model.layers.0.self_attn.q_proj.weight"),
                layout.role("model.layers.0.self_attn.q_proj.weight"));
        assertEquals(kind(Kind.LM_HEAD, "lm_head.weight"), layout.role("lm_head.weight"));
        assertEquals(kind(Kind.EMBEDDING, "model.embed_tokens.weight"), layout.role("model.embed_tokens.weight"));
        assertEquals(7, layout.fusedGroups().size());
    }

    @Test
    void unknownArchitectureWithConfigUsesItsVocabulary() {
        List<TensorInfo> ts = List.of(t("wte.weight", 100, 32), t("proj.weight", 64, 32), t("head2.weight", 64, 32));
        ModelLayout layout = ModelLayout.of(Optional.of(config("{\"model_type\": \"gpt2\", \"vocab_size\": 64}")), ts);
        assertEquals(Architecture.UNKNOWN, layout.architecture());
        assertEquals(kind(Kind.EMBEDDING, "proj.weight"), layout.role("proj.weight"));
        assertEquals(kind(Kind.EMBEDDING, "head2.weight"), layout.role("head2.weight"));
        assertEquals(kind(Kind.EMBEDDING, "wte.weight"), layout.role("wte.weight"));
    }

    // ---- consistency between config and tensors ----

    @Test
    void quantizedWeightsAreNotShapeChecked() {
        List<TensorInfo> ts = llamaTensors(2, true);
        ts.removeIf(t -> t.name().equals("model.layers.0.self_attn.q_proj.weight"));
        ts.add(TensorInfo.planned("model.layers.0.self_attn.q_proj.weight", DType.I8, 2048, 2));
        ts.add(TensorInfo.planned("model.layers.0.self_attn.q_proj.weight_scale", DType.F32, 64, 1));
        ModelLayout layout = llamaWith(ts);
        assertEquals(linear(LinearRole.Q, 0, "layers.0.attn_in"), layout.role("model.layers.0.self_attn.q_proj.weight"));
        assertEquals(kind(Kind.OTHER, 0, "model.layers.0.self_attn.q_proj.weight_scale"),
                layout.role("model.layers.0.self_attn.q_proj.weight_scale"));
    }

    @Test
    void queryRowsMustMatchHeads() {
        assertMismatch("model.layers.1.self_attn.q_proj.weight", t("model.layers.1.self_attn.q_proj.weight", 48, 64),
                "num_attention_heads", "config.json: num_attention_heads: tensor model.layers.1.self_attn.q_proj.weight is [48, 64]"
                        + " but the config implies [64, 64]");
    }

    @Test
    void keyRowsMustMatchKeyValueHeads() {
        assertMismatch("model.layers.0.self_attn.k_proj.weight", t("model.layers.0.self_attn.k_proj.weight", 64, 64),
                "num_key_value_heads", "config.json: num_key_value_heads: tensor model.layers.0.self_attn.k_proj.weight is [64, 64]"
                        + " but the config implies [32, 64]");
    }

    @Test
    void columnsMustMatchHiddenAndIntermediate() {
        assertMismatch("model.layers.0.mlp.up_proj.weight", t("model.layers.0.mlp.up_proj.weight", 128, 32), "hidden_size", null);
        assertMismatch("model.layers.0.mlp.down_proj.weight", t("model.layers.0.mlp.down_proj.weight", 64, 96), "intermediate_size", null);
        assertMismatch("model.embed_tokens.weight", t("model.embed_tokens.weight", 101, 64), "vocab_size", null);
        assertMismatch("lm_head.weight", t("lm_head.weight", 99, 64), "vocab_size", null);
    }

    @Test
    void layerCountMustMatch() {
        List<TensorInfo> three = llamaTensors(3, true);
        ModelConfigException extra = assertThrows(ModelConfigException.class, () -> llamaWith(three));
        ModelConfigTest.assertBadInput(extra, "num_hidden_layers");
        assertEquals(Optional.of("model.layers.2.input_layernorm.weight"), extra.tensor());
        assertEquals("config.json: num_hidden_layers is 2 but tensor model.layers.2.input_layernorm.weight is in layer 2",
                extra.getMessage());

        List<TensorInfo> one = llamaTensors(1, true);
        ModelConfigException missing = assertThrows(ModelConfigException.class, () -> llamaWith(one));
        ModelConfigTest.assertBadInput(missing, "num_hidden_layers");
        assertEquals(Optional.empty(), missing.tensor());
        assertEquals("config.json: num_hidden_layers is 2 but no tensor belongs to layer 1", missing.getMessage());
    }

    @Test
    void duplicateNamesAreBadInput() {
        List<TensorInfo> ts = llamaTensors(2, true);
        ts.add(t("model.norm.weight", 64));
        SlimqException e = assertThrows(SlimqException.class, () -> llamaWith(ts));
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertTrue(e.getMessage().contains("model.norm.weight"));
    }

    @Test
    void unknownNamesAreRejectedByLookups() {
        ModelLayout layout = llama(false, true);
        assertThrows(IllegalArgumentException.class, () -> layout.role("model.layers.9.mlp.up_proj.weight"));
        assertThrows(IllegalArgumentException.class, () -> layout.tensor("nope"));
        assertEquals(t("lm_head.weight", 100, 64), layout.tensor("lm_head.weight"));
    }

    private static ModelLayout llamaWith(List<TensorInfo> ts) {
        return ModelLayout.of(Optional.of(config(LLAMA_CONFIG.formatted(false))), ts);
    }

    private static void assertMismatch(String replaced, TensorInfo replacement, String field, String message) {
        List<TensorInfo> ts = llamaTensors(2, true);
        ts.removeIf(t -> t.name().equals(replaced));
        ts.add(replacement);
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> llamaWith(ts));
        ModelConfigTest.assertBadInput(e, field);
        assertEquals(Optional.of(replaced), e.tensor());
        if (message != null) {
            assertEquals(message, e.getMessage());
        }
    }

    static List<String> names(List<TensorInfo> tensors) {
        return tensors.stream().map(TensorInfo::name).toList();
    }
}
