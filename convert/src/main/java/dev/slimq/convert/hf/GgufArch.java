package dev.slimq.convert.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.Text;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The architectures slimq converts to GGUF and the rules llama.cpp's converter applies to each.
 *
 * <p>{@code llama}: {@code LlamaForCausalLM} and {@code MistralForCausalLM} (both registered on
 * {@code LlamaModel}, written as {@code general.architecture = "llama"}), with Q/K rows permuted from
 * Hugging Face's rotate-half order to ggml's interleaved pairs ({@code LlamaModel.permute}).
 * {@code qwen2}: same names, its own key prefix, q/k/v biases, no permutation ({@code Qwen2Model}).
 * {@code bert}: {@code BertModel}; the pooler is dropped as the converter does ("we are only using BERT
 * for embeddings"). {@code xlm-roberta} ({@code XLMRobertaModel}) is written as {@code bert} too, with
 * the converter's two changes: a {@code roberta.} name prefix is dropped, and the position table loses
 * its first {@code pad_token_id + 1} rows ({@link #positionOffset}), because XLM-R numbers positions from
 * {@code pad_token_id + 1} while llama.cpp's BERT graph numbers them from 0; {@code context_length}
 * shrinks by as much. The token-type table is written as stored (llama.cpp adds its row 0).
 */
public enum GgufArch {
    LLAMA("llama", true), QWEN2("qwen2", false), BERT("bert", false);

    private final String ggufName;
    private final boolean permuteQk;

    GgufArch(String ggufName, boolean permuteQk) {
        this.ggufName = ggufName;
        this.permuteQk = permuteQk;
    }

    public String ggufName() {
        return ggufName;
    }

    public boolean permutesQk() {
        return permuteQk;
    }

    /** From a config.json; anything else is {@link Failure#UNSUPPORTED}. */
    public static GgufArch of(JsonNode config) {
        String mt = config.path("model_type").asText("").toLowerCase(Locale.ROOT);
        return switch (mt) {
            case "llama", "mistral" -> LLAMA;
            case "qwen2" -> QWEN2;
            case "bert", "xlm-roberta" -> BERT;
            default -> throw new SlimqException(Failure.UNSUPPORTED, "GGUF conversion supports llama, mistral, qwen2, bert and xlm-roberta; config.json has model_type '"
                    + Text.oneLine(mt) + "'");
        };
    }

    /** From a GGUF file's {@code general.architecture}. */
    public static GgufArch ofGguf(String name) {
        for (GgufArch a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        throw new SlimqException(Failure.UNSUPPORTED, "converting GGUF architecture '" + Text.oneLine(name) + "' to safetensors is not supported (llama, qwen2, bert are)");
    }

    private static final Pattern LLAMA_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)\\.(weight|bias)");
    private static final Pattern BERT_LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\.(.+)\\.(weight|bias)");
    private static final Map<String, String> LLAMA_BLOCK = Map.of(
            "input_layernorm", "attn_norm", "self_attn.q_proj", "attn_q", "self_attn.k_proj", "attn_k",
            "self_attn.v_proj", "attn_v", "self_attn.o_proj", "attn_output", "post_attention_layernorm", "ffn_norm",
            "mlp.gate_proj", "ffn_gate", "mlp.up_proj", "ffn_up", "mlp.down_proj", "ffn_down");
    private static final Map<String, String> LLAMA_GLOBAL = Map.of(
            "model.embed_tokens", "token_embd", "model.norm", "output_norm", "lm_head", "output");
    private static final Map<String, String> BERT_BLOCK = Map.of(
            "attention.self.query", "attn_q", "attention.self.key", "attn_k", "attention.self.value", "attn_v",
            "attention.output.dense", "attn_output", "attention.output.LayerNorm", "attn_output_norm",
            "intermediate.dense", "ffn_up", "output.dense", "ffn_down", "output.LayerNorm", "layer_output_norm");
    private static final Map<String, String> BERT_GLOBAL = Map.of(
            "embeddings.word_embeddings", "token_embd", "embeddings.token_type_embeddings", "token_types",
            "embeddings.position_embeddings", "position_embd", "embeddings.LayerNorm", "token_embd_norm");

    /**
     * The GGUF name of a Hugging Face tensor, or empty for tensors the converter drops
     * ({@code rotary_emb.inv_freq}, {@code position_ids}, the BERT pooler); an unknown tensor is
     * {@link Failure#UNSUPPORTED}, as the converter's "Can not map tensor" is.
     */
    public Optional<String> ggufName(String hf) {
        String n = this == BERT && hf.startsWith("bert.") ? hf.substring(5) : this == BERT && hf.startsWith("roberta.") ? hf.substring(8) : hf;
        if (n.endsWith("rotary_emb.inv_freq") || n.endsWith("position_ids") || this == BERT && n.startsWith("pooler.")) {
            return Optional.empty();
        }
        Pattern layer = this == BERT ? BERT_LAYER : LLAMA_LAYER;
        Map<String, String> block = this == BERT ? BERT_BLOCK : LLAMA_BLOCK;
        Map<String, String> global = this == BERT ? BERT_GLOBAL : LLAMA_GLOBAL;
        Matcher m = layer.matcher(n);
        if (m.matches() && block.containsKey(m.group(2))) {
            return Optional.of("blk." + m.group(1) + "." + block.get(m.group(2)) + "." + m.group(3));
        }
        int dot = n.lastIndexOf('.');
        if (dot > 0 && global.containsKey(n.substring(0, dot))) {
            return Optional.of(global.get(n.substring(0, dot)) + n.substring(dot));
        }
        throw new SlimqException(Failure.UNSUPPORTED, "cannot map tensor '" + Text.oneLine(hf) + "' of a " + ggufName + " checkpoint to a GGUF name");
    }

    /** The Hugging Face name of a GGUF tensor (the inverse of {@link #ggufName}). */
    public String hfName(String gguf) {
        Map<String, String> block = this == BERT ? BERT_BLOCK : LLAMA_BLOCK;
        Map<String, String> global = this == BERT ? BERT_GLOBAL : LLAMA_GLOBAL;
        Matcher m = Pattern.compile("blk\\.(\\d+)\\.(.+)\\.(weight|bias)").matcher(gguf);
        if (m.matches()) {
            for (Map.Entry<String, String> e : block.entrySet()) {
                if (e.getValue().equals(m.group(2))) {
                    return (this == BERT ? "encoder.layer." : "model.layers.") + m.group(1) + "." + e.getKey() + "." + m.group(3);
                }
            }
        }
        int dot = gguf.lastIndexOf('.');
        if (dot > 0) {
            for (Map.Entry<String, String> e : global.entrySet()) {
                if (e.getValue().equals(gguf.substring(0, dot))) {
                    return e.getKey() + gguf.substring(dot);
                }
            }
        }
        throw new SlimqException(Failure.UNSUPPORTED, "GGUF tensor '" + Text.oneLine(gguf) + "' has no Hugging Face name for " + ggufName);
    }

    /** Whether the tensor's rows are permuted, and with how many heads (q: heads, k: kv heads). */
    public int permuteHeads(String hf, JsonNode config) {
        if (!permuteQk) {
            return 0;
        }
        int heads = config.path("num_attention_heads").asInt();
        int kv = config.path("num_key_value_heads").asInt(heads);
        if (hf.matches(".*self_attn\\.q_proj\\.(weight|bias)")) {
            return heads;
        }
        if (hf.matches(".*self_attn\\.k_proj\\.(weight|bias)")) {
            return kv;
        }
        return 0;
    }

    /**
     * Rows of a {@code [rows, cols]} row-major matrix from Hugging Face order to ggml order
     * ({@code LlamaModel.permute}: {@code w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2)}):
     * within each head of {@code d} rows, new row {@code 2b + a} is old row {@code a*d/2 + b}.
     * {@code inverse} undoes it (what llama.cpp's {@code undo_permute} means for the way back).
     */
    public static float[] permuteRows(float[] w, long rows, int cols, int heads, boolean inverse) {
        int d = (int) (rows / heads);
        if (rows % heads != 0 || d % 2 != 0) {
            throw new SlimqException(Failure.BAD_INPUT, rows + " rows cannot be split into " + heads + " heads of even size");
        }
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int a = 0; a < 2; a++) {
                for (int b = 0; b < d / 2; b++) {
                    int hfRow = h * d + a * d / 2 + b;
                    int ggRow = h * d + 2 * b + a;
                    int src = inverse ? ggRow : hfRow;
                    int dst = inverse ? hfRow : ggRow;
                    System.arraycopy(w, src * cols, out, dst * cols, cols);
                }
            }
        }
        return out;
    }

    /**
     * Position-table rows the converter drops from the front ({@code XLMRobertaModel}: {@code 1 +
     * pad_token_id}, pad defaulting to XLM-R's 1); 0 for every other model type.
     */
    public static int positionOffset(JsonNode config) {
        if (!"xlm-roberta".equals(config.path("model_type").asText("").toLowerCase(Locale.ROOT))) {
            return 0;
        }
        JsonNode pad = config.path("pad_token_id");
        if (pad.isMissingNode() || pad.isNull()) {
            return 2;
        }
        if (!pad.canConvertToInt() || pad.asInt() < 0) {
            throw new SlimqException(Failure.BAD_INPUT, "config.json: 'pad_token_id' is not a non-negative integer");
        }
        return pad.asInt() + 1;
    }

    /** The architecture keys llama.cpp's loader reads ({@code load_hparams}), from config.json. */
    public Map<String, GgufValue> hparams(JsonNode c) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        String p = ggufName + ".";
        int hidden = req(c, "hidden_size");
        int heads = req(c, "num_attention_heads");
        int offset = positionOffset(c);
        int context = req(c, "max_position_embeddings") - offset;
        if (context <= 0) {
            throw new SlimqException(Failure.BAD_INPUT, "config.json: max_position_embeddings " + (context + offset)
                    + " leaves no positions after XLM-R's offset of " + offset + " (pad_token_id + 1)");
        }
        m.put(p + "context_length", GgufValue.u32(context));
        m.put(p + "embedding_length", GgufValue.u32(hidden));
        m.put(p + "block_count", GgufValue.u32(req(c, "num_hidden_layers")));
        m.put(p + "feed_forward_length", GgufValue.u32(req(c, "intermediate_size")));
        m.put(p + "attention.head_count", GgufValue.u32(heads));
        if (this == BERT) {
            m.put(p + "attention.layer_norm_epsilon", GgufValue.f32((float) c.path("layer_norm_eps").asDouble(1e-12)));
            m.put(p + "attention.causal", GgufValue.bool(false));
        } else {
            m.put(p + "attention.head_count_kv", GgufValue.u32(c.path("num_key_value_heads").asInt(heads)));
            m.put(p + "rope.freq_base", GgufValue.f32((float) c.path("rope_theta").asDouble(10000)));
            m.put(p + "attention.layer_norm_rms_epsilon", GgufValue.f32((float) c.path("rms_norm_eps").asDouble(1e-6)));
            int headDim = c.path("head_dim").asInt(hidden / heads);
            m.put(p + "rope.dimension_count", GgufValue.u32(headDim));
            if (c.has("vocab_size")) {
                m.put(p + "vocab_size", GgufValue.u32(c.get("vocab_size").asInt()));
            }
        }
        return m;
    }

    private static int req(JsonNode c, String key) {
        JsonNode n = c.get(key);
        if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new SlimqException(Failure.BAD_INPUT, "config.json: '" + key + "' is missing or not a positive integer");
        }
        return n.asInt();
    }
}
