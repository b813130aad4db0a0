package dev.slimq.prune.structure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.json.Json;
import dev.slimq.core.layout.LinearRole;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Writes the pruned model's config.json for each physical layout, and checks a written config
 * against the tensors (the self-check on write).
 *
 * <ul>
 *   <li>{@code uniform}: {@code intermediate_size}, {@code num_attention_heads},
 *       {@code num_key_value_heads} rewritten; {@code head_dim} written when it is no longer
 *       hidden / heads.</li>
 *   <li>{@code lists} (Adapt-Pruner's per-layer config): {@code intermediate_size},
 *       {@code num_attention_heads} and {@code num_key_value_heads} become one entry per layer,
 *       {@code head_dim} is written. Only code that reads per-layer lists loads it (Adapt-Pruner's
 *       modified Llama); stock transformers does not.</li>
 *   <li>{@code deci}: DeciLM / Nemotron-NAS {@code block_configs} as vLLM's
 *       {@code DeciLMForCausalLM} (model_type {@code nemotron-nas}) reads them: per layer
 *       {@code attention {n_heads_in_group, no_op, replace_with_linear}} and
 *       {@code ffn {ffn_mult, no_op, replace_with_linear}}, the FFN width being
 *       {@code find_multiple(int(2·ffn_mult·hidden/3), 256)}; so widths are multiples of 256 and
 *       query heads are global ({@code num_attention_heads}), which is why attention pruning cannot
 *       be written there.</li>
 * </ul>
 * Depth pruning removes the dropped layers' entries from every top-level list that has one entry
 * per layer ({@code layer_types}, {@code block_configs}, per-layer widths, …), sets
 * {@code num_hidden_layers}, and recounts {@code max_window_layers} (Qwen2: layers below it use full
 * attention) over the remaining layers.
 */
public final class ConfigLayouts {
    /** DeciLM rounds every FFN width up to a multiple of this. */
    public static final int DECI_FFN_MULTIPLE = 256;

    /** Top-level lists that can have as many entries as there are layers without being per layer. */
    private static final java.util.Set<String> NOT_PER_LAYER = java.util.Set.of("architectures", "eos_token_id", "bos_token_id",
            "pad_token_id", "bad_words_ids", "suppress_tokens", "begin_suppress_tokens");

    private ConfigLayouts() {
    }

    /** Rewrites {@code json} (a copy of the input's config) for the layout, the widths and the dropped layers. */
    static void write(ObjectNode json, PruneLayout layout, LayerWidths w, boolean[] dropped, boolean encoder) {
        int layers = dropped.length;
        int n = w.layers();
        if (n != layers) {
            List<String> fields = new ArrayList<>();
            json.fieldNames().forEachRemaining(fields::add);
            for (String f : fields) {
                JsonNode v = json.get(f);
                if (v.isArray() && v.size() == layers && !NOT_PER_LAYER.contains(f) && !f.endsWith("token_id")) {
                    ArrayNode keep = json.arrayNode();
                    for (int l = 0; l < layers; l++) {
                        if (!dropped[l]) {
                            keep.add(v.get(l));
                        }
                    }
                    json.set(f, keep);
                }
            }
            json.put("num_hidden_layers", n);
            if (json.path("max_window_layers").isInt()) {
                int mwl = json.get("max_window_layers").asInt();
                int below = 0;
                for (int l = 0; l < Math.min(mwl, layers); l++) {
                    below += dropped[l] ? 0 : 1;
                }
                json.put("max_window_layers", mwl >= layers ? n : below);
            }
        }
        int hidden = json.path("hidden_size").asInt();
        switch (layout) {
            case UNIFORM -> {
                putIfChanged(json, "intermediate_size", w.intermediate()[0], w.originalIntermediate());
                putIfChanged(json, "num_attention_heads", w.heads()[0], w.originalHeads());
                if (!encoder) {
                    putIfChanged(json, "num_key_value_heads", w.kvHeads()[0], w.originalKvHeads());
                }
                int heads = w.heads()[0];
                if (json.has("head_dim") || hidden % heads != 0 || hidden / heads != w.headDim()) {
                    json.put("head_dim", w.headDim());
                }
            }
            case LISTS -> {
                json.set("intermediate_size", list(json, w.intermediate()));
                json.set("num_attention_heads", list(json, w.heads()));
                if (!encoder) {
                    json.set("num_key_value_heads", list(json, w.kvHeads()));
                }
                json.put("head_dim", w.headDim());
            }
            case DECI -> {
                ArrayNode blocks = json.arrayNode();
                for (int l = 0; l < n; l++) {
                    if (w.heads()[l] != w.originalHeads() || w.kvHeads()[l] != w.originalKvHeads()) {
                        throw new SlimqException(Failure.UNSUPPORTED, "--layout deci cannot express attention pruning (query heads are"
                                + " global in DeciLM's config); prune --units mlp there");
                    }
                    ObjectNode b = blocks.addObject();
                    ObjectNode att = b.putObject("attention");
                    att.put("n_heads_in_group", w.originalHeads() / w.originalKvHeads());
                    att.put("no_op", false);
                    att.put("replace_with_linear", false);
                    ObjectNode ffn = b.putObject("ffn");
                    ffn.put("ffn_mult", ffnMult(w.intermediate()[l], hidden));
                    ffn.put("no_op", false);
                    ffn.put("replace_with_linear", false);
                }
                json.set("block_configs", blocks);
                json.put("model_type", "nemotron-nas");
                json.set("architectures", json.arrayNode().add("DeciLMForCausalLM"));
            }
            case MASK -> throw new IllegalStateException("the mask layout keeps the input's config");
        }
    }

    private static void putIfChanged(ObjectNode json, String key, int value, int original) {
        if (value != original || json.has(key)) {
            json.put(key, value);
        }
    }

    private static ArrayNode list(ObjectNode json, int[] v) {
        ArrayNode a = json.arrayNode();
        for (int x : v) {
            a.add(x);
        }
        return a;
    }

    /**
     * An {@code ffn_mult} that DeciLM turns back into exactly {@code width} (a multiple of 256):
     * 1.5·width/hidden, shortened to the fewest decimals that still give {@code width}.
     */
    static double ffnMult(int width, int hidden) {
        double exact = 1.5 * width / hidden;
        for (int digits = 1; digits <= 12; digits++) {
            double m = new java.math.BigDecimal(exact).setScale(digits, java.math.RoundingMode.HALF_EVEN).doubleValue();
            if (deciIntermediate(m, hidden) == width) {
                return m;
            }
        }
        return exact;
    }

    /** vLLM's / DeciLM's {@code _ffn_mult_to_intermediate_size}: {@code find_multiple(int(2 * ffn_mult * n_embd / 3), 256)}. */
    public static long deciIntermediate(double ffnMult, int hidden) {
        long n = (long) (2 * ffnMult * hidden / 3);
        return n % DECI_FFN_MULTIPLE == 0 ? n : n + DECI_FFN_MULTIPLE - n % DECI_FFN_MULTIPLE;
    }

    /** What one written tensor is: its kind, its projection (for a bias, its weight's), and its layer (-1 outside the layers). */
    record Slot(TensorRole.Kind kind, LinearRole linear, int layer) {
    }

    /**
     * The self-check on write: every layer-owned linear weight and bias of {@code tensors} has the
     * shape the per-layer widths of {@code config} imply (read back from the JSON as a loader
     * reads it: scalars, per-layer lists, or DeciLM block_configs), and the layers are exactly
     * 0..num_hidden_layers−1. Stock configs are additionally checked by core's layout checks.
     */
    static void check(ObjectNode config, List<TensorInfo> tensors, Map<String, Slot> slots) {
        int layers = config.path("num_hidden_layers").asInt();
        int hidden = config.path("hidden_size").asInt();
        int[] inter = new int[layers];
        int[] heads = new int[layers];
        int[] kv = new int[layers];
        JsonNode blocks = config.get("block_configs");
        for (int l = 0; l < layers; l++) {
            heads[l] = perLayer(config, "num_attention_heads", l, layers);
            kv[l] = config.has("num_key_value_heads") ? perLayer(config, "num_key_value_heads", l, layers) : heads[l];
            if (blocks != null) {
                JsonNode b = blocks.get(l);
                inter[l] = Math.toIntExact(deciIntermediate(b.path("ffn").path("ffn_mult").asDouble(), hidden));
                kv[l] = heads[l] / b.path("attention").path("n_heads_in_group").asInt();
            } else {
                inter[l] = perLayer(config, "intermediate_size", l, layers);
            }
        }
        int headDim = config.has("head_dim") ? config.get("head_dim").asInt() : hidden / heads[0];
        Map<Integer, String> seen = new TreeMap<>();
        for (TensorInfo t : tensors) {
            Slot s = slots.get(t.name());
            if (s == null || s.layer() < 0) {
                continue;
            }
            seen.putIfAbsent(s.layer(), t.name());
            if (s.layer() >= layers) {
                fail("tensor " + t.name() + " is in layer " + s.layer() + " but num_hidden_layers is " + layers);
            }
            if (s.linear() == null) {
                continue;
            }
            int l = s.layer();
            long q = (long) heads[l] * headDim;
            long k = (long) kv[l] * headDim;
            long[] want = switch (s.linear()) {
                case Q, BERT_QUERY -> new long[] {q, hidden};
                case K, V -> new long[] {k, hidden};
                case BERT_KEY, BERT_VALUE -> new long[] {q, hidden};
                case O, BERT_ATTN_OUT -> new long[] {hidden, q};
                case GATE, UP, BERT_INTERMEDIATE -> new long[] {inter[l], hidden};
                case DOWN, BERT_OUTPUT -> new long[] {hidden, inter[l]};
                default -> null;
            };
            if (want == null) {
                continue;
            }
            if (s.kind() == TensorRole.Kind.BIAS) {
                if (t.rank() != 1 || t.dim(0) != want[0]) {
                    fail("bias " + t.name() + " is " + t.shapeString() + " but the config implies [" + want[0] + "]");
                }
            } else if (t.rank() != 2 || t.dim(0) != want[0] || t.dim(1) != want[1]) {
                fail("tensor " + t.name() + " is " + t.shapeString() + " but the config implies [" + want[0] + ", " + want[1] + "]");
            }
        }
        for (int l = 0; l < layers; l++) {
            if (!seen.containsKey(l)) {
                fail("num_hidden_layers is " + layers + " but no tensor belongs to layer " + l);
            }
        }
        if (blocks == null && !config.path("intermediate_size").isArray() && !config.path("num_attention_heads").isArray()) {
            try {
                ModelLayout.of(Optional.of(ModelConfig.of(config)), tensors);
            } catch (SlimqException e) {
                fail(e.getMessage());
            }
        }
    }

    private static int perLayer(JsonNode config, String key, int layer, int layers) {
        JsonNode v = config.path(key);
        if (v.isArray()) {
            if (v.size() != layers) {
                fail(key + " has " + v.size() + " entries but num_hidden_layers is " + layers);
            }
            return v.get(layer).asInt();
        }
        return v.asInt();
    }

    private static void fail(String message) {
        throw new SlimqException(Failure.BAD_INPUT, "pruned config.json and tensors disagree (nothing written): " + message);
    }

    /** The written config as text. */
    static String text(ObjectNode json) {
        return Json.python(json);
    }
}
