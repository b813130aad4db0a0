package dev.slimq.core.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ModelConfigTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    static JsonNode json(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static ModelConfig config(String text) {
        return ModelConfig.of(json(text));
    }

    static final String LLAMA = """
            {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 256,
             "rope_theta": 500000.0, "rms_norm_eps": 1e-5, "bos_token_id": 1}""";

    @Test
    void llamaWithGroupedQueryAttention() {
        ModelConfig c = config(LLAMA);
        assertEquals(Architecture.LLAMA, c.architecture());
        assertEquals(Optional.of("llama"), c.modelType());
        assertEquals(List.of("LlamaForCausalLM"), c.architectures());
        assertEquals(64, c.hiddenSize());
        assertEquals(2, c.numHiddenLayers());
        assertEquals(4, c.numAttentionHeads());
        assertEquals(2, c.numKeyValueHeads());
        assertEquals(16, c.headDim());
        assertEquals(128, c.intermediateSize());
        assertEquals(100, c.vocabSize());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(1e-5, c.normEps());
        assertEquals(OptionalDouble.of(500000.0), c.ropeTheta());
        assertEquals(OptionalInt.of(256), c.maxPositionEmbeddings());
        assertEquals(1, c.raw().get("bos_token_id").intValue());
    }

    @Test
    void llamaDefaults() {
        ModelConfig c = config("""
                {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "intermediate_size": 128, "vocab_size": 100, "head_dim": null}""");
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(16, c.headDim());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(1e-6, c.normEps());
        assertEquals(OptionalDouble.of(10000.0), c.ropeTheta());
        assertEquals(OptionalInt.empty(), c.maxPositionEmbeddings());
    }

    @Test
    void transformers5RopeParameters() {
        ModelConfig c = config("""
                {"model_type": "mistral", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "intermediate_size": 128, "vocab_size": 100, "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}}""");
        assertEquals(Architecture.MISTRAL, c.architecture());
        assertEquals(OptionalDouble.of(1000000.0), c.ropeTheta());
    }

    @Test
    void gemmaFamilyTiesAndUses256WideHeadsByDefault() {
        ModelConfig gemma = config("""
                {"model_type": "gemma", "hidden_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16,
                 "intermediate_size": 24576, "vocab_size": 256000}""");
        assertEquals(Architecture.GEMMA, gemma.architecture());
        assertEquals(256, gemma.headDim());
        assertTrue(gemma.tieWordEmbeddings());

        ModelConfig gemma2 = config("""
                {"model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"], "hidden_size": 2304,
                 "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
                 "intermediate_size": 9216, "vocab_size": 256000, "query_pre_attn_scalar": 256,
                 "final_logit_softcapping": 30.0}""");
        assertEquals(Architecture.GEMMA2, gemma2.architecture());
        assertEquals(256, gemma2.headDim());
        assertTrue(gemma2.tieWordEmbeddings());
        assertEquals(30.0, gemma2.raw().get("final_logit_softcapping").doubleValue());

        ModelConfig gemma3 = config("""
                {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 1152,
                 "num_hidden_layers": 26, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256,
                 "intermediate_size": 6912, "vocab_size": 262144, "rope_local_base_freq": 10000,
                 "sliding_window": 512}""");
        assertEquals(Architecture.GEMMA3, gemma3.architecture());
        assertEquals(1, gemma3.numKeyValueHeads());
        assertEquals(OptionalDouble.of(1_000_000.0), gemma3.ropeTheta());
        assertTrue(gemma3.tieWordEmbeddings());
    }

    @Test
    void qwenAndPhi3Defaults() {
        ModelConfig qwen3 = config("""
                {"model_type": "qwen3", "hidden_size": 1024, "num_hidden_layers": 28, "num_attention_heads": 16,
                 "num_key_value_heads": 8, "intermediate_size": 3072, "vocab_size": 151936}""");
        assertEquals(128, qwen3.headDim());
        assertFalse(qwen3.tieWordEmbeddings());

        ModelConfig qwen2 = config("""
                {"model_type": "qwen2", "hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14,
                 "num_key_value_heads": 2, "intermediate_size": 4864, "vocab_size": 151936, "tie_word_embeddings": true}""");
        assertEquals(64, qwen2.headDim());
        assertTrue(qwen2.tieWordEmbeddings());

        ModelConfig phi3 = config("""
                {"model_type": "phi3", "architectures": ["Phi3ForCausalLM"], "hidden_size": 3072,
                 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                 "intermediate_size": 8192, "vocab_size": 32064, "max_position_embeddings": 4096}""");
        assertEquals(Architecture.PHI3, phi3.architecture());
        assertEquals(96, phi3.headDim());
        assertEquals(1e-5, phi3.normEps());
        assertFalse(phi3.tieWordEmbeddings());
    }

    @Test
    void bgeSmallConfigFromResources() throws IOException {
        JsonNode root;
        try (InputStream in = ModelConfigTest.class.getResourceAsStream("/layout/bge-small-en-v1.5.config.json")) {
            root = MAPPER.readTree(in);
        }
        ModelConfig c = ModelConfig.of(root);
        assertEquals(Architecture.BERT, c.architecture());
        assertEquals(Architecture.Family.ENCODER, c.architecture().family());
        assertEquals(384, c.hiddenSize());
        assertEquals(12, c.numHiddenLayers());
        assertEquals(12, c.numAttentionHeads());
        assertEquals(12, c.numKeyValueHeads());
        assertEquals(32, c.headDim());
        assertEquals(1536, c.intermediateSize());
        assertEquals(30522, c.vocabSize());
        assertEquals(1e-12, c.normEps());
        assertEquals(OptionalDouble.empty(), c.ropeTheta());
        assertEquals(OptionalInt.of(512), c.maxPositionEmbeddings());
        assertEquals(2, c.raw().get("type_vocab_size").intValue());
    }

    @ParameterizedTest
    @CsvSource({
        "llama, '', LLAMA",
        "xlm-roberta, '', XLM_ROBERTA",
        "roberta, BertModel, ROBERTA",
        "qwen2_moe, Qwen2MoeForCausalLM, UNKNOWN",
        "gemma3, Gemma3ForConditionalGeneration, UNKNOWN",
        "'', LlamaForCausalLM, LLAMA",
        "'', MistralModel, MISTRAL",
        "'', BertModel, BERT",
        "'', BertForMaskedLM, BERT",
        "'', XLMRobertaForSequenceClassification, XLM_ROBERTA",
        "'', Qwen3ForCausalLM, QWEN3",
        "'', Gemma3ForCausalLM, GEMMA3",
        "'', Qwen2VLForConditionalGeneration, UNKNOWN",
        "'', GPT2LMHeadModel, UNKNOWN",
        "'', '', UNKNOWN",
    })
    void recognizesModelTypeFirstThenClassName(String modelType, String className, Architecture expected) {
        assertEquals(expected, Architecture.recognize(
                modelType.isEmpty() ? Optional.empty() : Optional.of(modelType),
                className.isEmpty() ? List.of() : List.of(className)));
    }

    @Test
    void unknownArchitectureNeedsNoCounts() {
        ModelConfig c = config("""
                {"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "vocab_size": 50257}""");
        assertEquals(Architecture.UNKNOWN, c.architecture());
        assertEquals(Architecture.Family.UNKNOWN, c.architecture().family());
        assertEquals(0, c.hiddenSize());
        assertEquals(0, c.numHiddenLayers());
        assertEquals(50257, c.vocabSize());
        assertEquals(0.0, c.normEps());
        assertEquals(OptionalDouble.empty(), c.ropeTheta());
    }

    @Test
    void rawIsACopy() {
        ModelConfig c = config(LLAMA);
        ((ObjectNode) c.raw()).put("hidden_size", 1);
        assertEquals(64, c.raw().get("hidden_size").intValue());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "hidden_size             | \"64\"                 | hidden_size",
        "hidden_size             | 64.5                     | hidden_size",
        "num_hidden_layers       | -2                       | num_hidden_layers",
        "num_hidden_layers       | 0                        | num_hidden_layers",
        "vocab_size              | 99999999999              | vocab_size",
        "num_attention_heads     | 3                        | num_attention_heads",
        "num_key_value_heads     | 3                        | num_key_value_heads",
        "num_key_value_heads     | 8                        | num_key_value_heads",
        "head_dim                | true                     | head_dim",
        "tie_word_embeddings     | \"yes\"                | tie_word_embeddings",
        "rms_norm_eps            | -1                       | rms_norm_eps",
        "rope_theta              | \"10000\"              | rope_theta",
        "rope_parameters         | {\"rope_theta\": 0}    | rope_parameters.rope_theta",
        "max_position_embeddings | []                       | max_position_embeddings",
        "architectures           | \"LlamaForCausalLM\"   | architectures",
        "architectures           | [1]                      | architectures",
        "model_type              | 7                        | model_type",
    })
    void mistypedFieldsAreBadInputNamingConfigAndField(String key, String value, String field) {
        ObjectNode root = (ObjectNode) json(LLAMA);
        root.remove("rope_theta");  // so that rope_parameters is consulted
        root.set(key, json(value));
        assertBadInput(assertThrows(ModelConfigException.class, () -> ModelConfig.of(root)), field);
    }

    @Test
    void missingRequiredCountForKnownArchitecture() {
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> config("""
                {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "intermediate_size": 128}"""));
        assertBadInput(e, "vocab_size");
    }

    @Test
    void notAnObject() {
        assertBadInput(assertThrows(ModelConfigException.class, () -> config("[1, 2]")), "");
    }

    @Test
    void readNamesTheFile(@TempDir Path dir) throws IOException {
        Path ok = dir.resolve("config.json");
        Files.writeString(ok, LLAMA);
        assertEquals(config(LLAMA), ModelConfig.read(ok));

        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"model_type\": \"llama\",\n \"hidden_size\": ");
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> ModelConfig.read(broken));
        assertTrue(e.getMessage().startsWith(broken + ": not valid JSON"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));

        Path mistyped = dir.resolve("mistyped.json");
        Files.writeString(mistyped, LLAMA.replace("\"hidden_size\": 64", "\"hidden_size\": \"64\""));
        e = assertThrows(ModelConfigException.class, () -> ModelConfig.read(mistyped));
        assertEquals(mistyped + ": \"hidden_size\" must be a positive integer, got \"64\"", e.getMessage());

        SlimqException missing = assertThrows(SlimqException.class, () -> ModelConfig.read(dir.resolve("absent.json")));
        assertEquals(Failure.IO, missing.failure());
    }

    static void assertBadInput(ModelConfigException e, String field) {
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertEquals(field, e.field());
        assertTrue(e.getMessage().startsWith("config.json: "), e.getMessage());
        assertTrue(e.getMessage().contains(field), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
