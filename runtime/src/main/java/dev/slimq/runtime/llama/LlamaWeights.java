package dev.slimq.runtime.llama;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.FloatWeightSource;
import dev.slimq.core.checkpoint.WeightSource;
import dev.slimq.runtime.WeightReader;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.LinearRole;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama-family decoder's weights, every tensor decoded to {@code float[]} once (whatever float dtype
 * the checkpoint stores), with what the forward pass needs to know about its family.
 *
 * <p>Linear weights are found through the layout's roles ({@link LinearRole#Q} ... {@link LinearRole#DOWN}),
 * the token table and output projection through {@link TensorRole.Kind#EMBEDDING} and
 * {@link TensorRole.Kind#LM_HEAD}; norms sit next to them under HF's names ({@code input_layernorm},
 * {@code post_attention_layernorm}, {@code pre_feedforward_layernorm}/{@code post_feedforward_layernorm},
 * {@code self_attn.q_norm}/{@code k_norm}, the final {@code norm}). Linear weights are
 * {@code [out, in]}, row-major, as HF stores them.
 *
 * <p>Supported: llama, mistral (sliding-window attention), qwen2 (q/k/v biases) and qwen3 (per-head
 * RMSNorm of q and k before RoPE), both with {@code use_sliding_window}/{@code max_window_layers};
 * gemma, gemma2 and gemma3 text models: embeddings times {@code sqrt(hidden)} rounded to the
 * embedding's dtype (as transformers computes the normalizer in the weights' dtype), RMSNorm with
 * {@code (1 + w)} (folded into the stored gains here), GeGLU with {@code gelu_pytorch_tanh},
 * gemma2/3's norms around attention and MLP outputs, {@code query_pre_attn_scalar}, attention and
 * final logit soft-capping and alternating sliding/global layers (gemma3: local layers with
 * {@code rope_local_base_freq} and no scaling). {@code rope_scaling}: see {@link Rope}. A config's
 * {@code layer_types} list, when present, decides which layers slide. Not supported: fused Phi-3
 * projections, multimodal gemma3 configs.
 *
 * @param lmHead {@code [vocab, hidden]}; the very same array as {@code embedding} when tied
 * @param slidingWindow the window of the sliding layers, or 0 when no layer slides
 * @param embedScale what token embeddings are multiplied by (1 except gemma)
 * @param activation the MLP gate's activation
 * @param attnScale the attention score scale, {@code 1/sqrt(head_dim)} or {@code 1/sqrt(query_pre_attn_scalar)}
 * @param attnSoftcap attention score soft-capping {@code cap * tanh(s / cap)}, or 0 for none
 * @param finalSoftcap the same for the logits, or 0 for none
 */
public record LlamaWeights(Architecture architecture, int hidden, int heads, int kvHeads, int headDim, int intermediate,
        int vocab, float eps, double ropeTheta, int slidingWindow, float[] embedding, float[] finalNorm, float[] lmHead,
        boolean tied, Layer[] layers, float embedScale, Activation activation, float attnScale, float attnSoftcap,
        float finalSoftcap) {

    /** The gate activation of the gated MLP ({@code down(act(gate) * up)}). */
    public enum Activation {
        /** {@code x * sigmoid(x)}: SwiGLU (llama, mistral, qwen). */
        SILU,
        /** {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}: GeGLU as gemma uses it. */
        GELU_TANH
    }

    /**
     * One decoder block. Linears are {@code [out, in]}; {@code qBias}/{@code kBias}/{@code vBias} are
     * null when the checkpoint has none (all but qwen2 and llama configs with {@code attention_bias});
     * {@code oBias} likewise (llama's {@code attention_bias}), and {@code gateBias}/{@code upBias}/{@code downBias}
     * with llama's {@code mlp_bias} — what {@code slimq prune}'s bias compensation creates; {@code qNorm}/{@code kNorm} ({@code [headDim]})
     * null except for qwen3 and gemma3. {@code postNorm} is the norm before the MLP
     * ({@code post_attention_layernorm} for llama, {@code pre_feedforward_layernorm} for gemma2/3);
     * {@code attnOutNorm} and {@code mlpOutNorm} are gemma2/3's norms of the attention and MLP outputs
     * before each residual add (null otherwise). Norm gains already include gemma's {@code + 1}.
     *
     * @param window the sliding window of this layer (a query sees itself and the {@code window - 1}
     *     tokens before it), or 0 for full causal attention
     * @param rope this layer's rotary embedding
     */
    public record Layer(float[] inputNorm, float[] q, float[] qBias, float[] k, float[] kBias, float[] v, float[] vBias,
            float[] qNorm, float[] kNorm, float[] o, float[] oBias, float[] postNorm, float[] gate, float[] gateBias,
            float[] up, float[] upBias, float[] down, float[] downBias, float[] attnOutNorm, float[] mlpOutNorm, int window, Rope rope) {
    }

    /** The same model with other decoder blocks (e.g. some taken out, as depth pruning does). */
    public LlamaWeights withLayers(Layer[] newLayers) {
        return new LlamaWeights(architecture, hidden, heads, kvHeads, headDim, intermediate, vocab, eps, ropeTheta, slidingWindow,
                embedding, finalNorm, lmHead, tied, newLayers, embedScale, activation, attnScale, attnSoftcap, finalSoftcap);
    }

    /** Reads and checks every weight of a llama, mistral, qwen2, qwen3, gemma, gemma2 or gemma3 text checkpoint. */
    public static LlamaWeights load(Checkpoint checkpoint) {
        return load(new FloatWeightSource(checkpoint));
    }

    /** Reads and checks every weight through {@code source} (a quantized checkpoint's dequantizing source, or a float one). */
    public static LlamaWeights load(WeightSource source) {
        ModelLayout layout = source.layout();
        ModelConfig config = layout.config().orElseThrow(() -> new SlimqException(Failure.BAD_INPUT,
                source.root() + ": no config.json; the forward pass needs the model's dimensions"));
        Architecture arch = config.architecture();
        boolean gemma = arch == Architecture.GEMMA || arch == Architecture.GEMMA2 || arch == Architecture.GEMMA3;
        boolean gemma23 = arch == Architecture.GEMMA2 || arch == Architecture.GEMMA3;
        if (!gemma && arch != Architecture.LLAMA && arch != Architecture.MISTRAL && arch != Architecture.QWEN2
                && arch != Architecture.QWEN3) {
            throw new SlimqException(Failure.UNSUPPORTED, source.root() + ": " + arch
                    + " is not supported by the decoder forward pass; llama, mistral, qwen2, qwen3, gemma, gemma2 and gemma3 text run here");
        }
        var raw = config.raw();
        Activation activation;
        if (gemma) {
            // transformers' Gemma uses gelu_pytorch_tanh whatever hidden_act says unless hidden_activation is set.
            String act = raw.path("hidden_activation").isTextual() ? raw.path("hidden_activation").asText() : "gelu_pytorch_tanh";
            if (!act.equals("gelu_pytorch_tanh")) {
                throw new SlimqException(Failure.UNSUPPORTED, "hidden_activation '" + act + "': only gelu_pytorch_tanh is implemented for gemma");
            }
            activation = Activation.GELU_TANH;
        } else {
            String act = raw.path("hidden_act").asText("silu");
            if (!act.equals("silu")) {
                throw new SlimqException(Failure.UNSUPPORTED, "hidden_act '" + act + "': only \"silu\" (SwiGLU) is implemented");
            }
            activation = Activation.SILU;
        }
        int hidden = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads() > 0 ? config.numKeyValueHeads() : heads;
        int d = config.headDim();
        if (heads <= 0 || d <= 0 || heads % kvHeads != 0 || d % 2 != 0) {
            throw new SlimqException(Failure.BAD_INPUT, "attention shape heads=" + heads + " kv_heads=" + kvHeads
                    + " head_dim=" + d + " is not usable (kv_heads must divide heads, head_dim must be even)");
        }
        int inter = config.intermediateSize();
        int layersN = config.numHiddenLayers();
        double theta = config.ropeTheta().orElse(10_000.0);
        int maxPos = config.maxPositionEmbeddings().orElse(0);
        JsonNode scaling = raw.path("rope_scaling");
        if ((scaling.isMissingNode() || scaling.isNull()) && raw.path("rope_parameters").isObject()) {
            scaling = raw.path("rope_parameters");
            if (scaling.has("full_attention") || scaling.has("sliding_attention")) {
                throw new SlimqException(Failure.UNSUPPORTED, "per-layer-type rope_parameters are not implemented; use a transformers 4 config");
            }
        }
        Rope globalRope = Rope.of(scaling, theta, d, maxPos);
        Rope localRope = arch == Architecture.GEMMA3 ? Rope.plain(raw.path("rope_local_base_freq").asDouble(10_000.0), d) : globalRope;
        int window = slidingWindow(arch, raw);
        boolean[] sliding = slidingLayers(arch, raw, layersN, window);
        float attnScale = (float) (1.0 / Math.sqrt(gemma23 ? raw.path("query_pre_attn_scalar").asDouble(256) : d));
        float attnCap = arch == Architecture.GEMMA2 ? softcap(raw, "attn_logit_softcapping", 50.0) : softcap(raw, "attn_logit_softcapping", 0);
        float finalCap = arch == Architecture.GEMMA2 ? softcap(raw, "final_logit_softcapping", 30.0) : softcap(raw, "final_logit_softcapping", 0);

        WeightReader r = new WeightReader(source);
        List<TensorInfo> embs = layout.tensorsOf(TensorRole.Kind.EMBEDDING);
        if (embs.size() != 1) {
            throw new SlimqException(Failure.BAD_INPUT, source.root() + ": expected one token embedding, found " + embs.size());
        }
        String embName = embs.get(0).name();
        int vocab = Math.toIntExact(embs.get(0).shape()[0]);
        float[] embedding = r.read(embName, vocab, hidden);
        float embedScale = gemma ? inDtype((float) Math.sqrt(hidden), embs.get(0).dtype()) : 1f;
        // "model.embed_tokens.weight" -> "model.norm.weight"
        int dot = embName.lastIndexOf("embed_tokens.weight");
        String base = dot >= 0 ? embName.substring(0, dot) : "model.";
        float[] finalNorm = gain(r.read(base + "norm.weight", hidden), gemma);
        List<TensorInfo> heads_ = layout.tensorsOf(TensorRole.Kind.LM_HEAD);
        float[] lmHead;
        boolean tied;
        if (heads_.isEmpty()) {
            lmHead = embedding;
            tied = true;
        } else {
            lmHead = r.read(heads_.get(0).name(), vocab, hidden);
            tied = false;
        }

        Map<Integer, Map<LinearRole, String>> linears = new HashMap<>();
        for (TensorInfo t : layout.linearWeights()) {
            TensorRole role = layout.role(t.name());
            if (role.layer().isPresent() && role.linear().isPresent()) {
                linears.computeIfAbsent(role.layer().getAsInt(), k -> new EnumMap<>(LinearRole.class))
                        .put(role.linear().get(), t.name());
            }
        }
        Layer[] layers = new Layer[layersN];
        for (int l = 0; l < layersN; l++) {
            Map<LinearRole, String> m = linears.getOrDefault(l, Map.of());
            if (m.containsKey(LinearRole.QKV) || m.containsKey(LinearRole.GATE_UP)) {
                throw new SlimqException(Failure.UNSUPPORTED, "layer " + l + ": fused qkv/gate_up projections are not implemented");
            }
            String q = need(m, LinearRole.Q, l);
            String p = q.substring(0, q.length() - "self_attn.q_proj.weight".length());
            String k = need(m, LinearRole.K, l);
            String v = need(m, LinearRole.V, l);
            String o = need(m, LinearRole.O, l);
            String g = need(m, LinearRole.GATE, l);
            String u = need(m, LinearRole.UP, l);
            String dn = need(m, LinearRole.DOWN, l);
            float[] postAttn = gain(r.read(p + "post_attention_layernorm.weight", hidden), gemma);
            layers[l] = new Layer(gain(r.read(p + "input_layernorm.weight", hidden), gemma),
                    r.read(q, (long) heads * d, hidden), r.optional(bias(q), (long) heads * d),
                    r.read(k, (long) kvHeads * d, hidden), r.optional(bias(k), (long) kvHeads * d),
                    r.read(v, (long) kvHeads * d, hidden), r.optional(bias(v), (long) kvHeads * d),
                    gain(r.optional(p + "self_attn.q_norm.weight", d), gemma), gain(r.optional(p + "self_attn.k_norm.weight", d), gemma),
                    r.read(o, hidden, (long) heads * d), r.optional(bias(o), hidden),
                    gemma23 ? gain(r.read(p + "pre_feedforward_layernorm.weight", hidden), true) : postAttn,
                    r.read(g, inter, hidden), r.optional(bias(g), inter), r.read(u, inter, hidden), r.optional(bias(u), inter),
                    r.read(dn, hidden, inter), r.optional(bias(dn), hidden),
                    gemma23 ? postAttn : null,
                    gemma23 ? gain(r.read(p + "post_feedforward_layernorm.weight", hidden), true) : null,
                    sliding[l] ? window : 0, sliding[l] ? localRope : globalRope);
            if ((layers[l].qNorm() == null) != (layers[l].kNorm() == null)) {
                throw new SlimqException(Failure.BAD_INPUT, "layer " + l + " has only one of q_norm and k_norm");
            }
        }
        boolean anySliding = false;
        for (boolean b : sliding) {
            anySliding |= b;
        }
        return new LlamaWeights(arch, hidden, heads, kvHeads, d, inter, vocab, (float) config.normEps(), theta,
                anySliding ? window : 0, embedding, finalNorm, lmHead, tied, layers, embedScale, activation, attnScale, attnCap, finalCap);
    }

    /** The window of the sliding layers (0: none), with transformers' config defaults where the key is absent. */
    private static int slidingWindow(Architecture arch, JsonNode raw) {
        int dflt = switch (arch) {
            case MISTRAL, GEMMA2, GEMMA3 -> 4096;
            default -> 0;
        };
        if (arch == Architecture.QWEN2 || arch == Architecture.QWEN3) {
            if (!raw.path("use_sliding_window").asBoolean(false)) {
                return 0;
            }
            dflt = 4096;
        }
        JsonNode w = raw.path("sliding_window");
        int window = w.isMissingNode() ? dflt : w.isNull() ? 0 : w.asInt();
        if (window < 0) {
            throw new SlimqException(Failure.BAD_INPUT, "sliding_window " + window + " is negative");
        }
        return window;
    }

    /** Which layers use the sliding window: {@code layer_types} when the config lists them, else each family's rule. */
    private static boolean[] slidingLayers(Architecture arch, JsonNode raw, int layers, int window) {
        boolean[] out = new boolean[layers];
        if (window == 0) {
            return out;
        }
        JsonNode types = raw.path("layer_types");
        if (types.isArray()) {
            if (types.size() != layers) {
                throw new SlimqException(Failure.BAD_INPUT, "layer_types lists " + types.size() + " layers, the model has " + layers);
            }
            for (int i = 0; i < layers; i++) {
                String t = types.get(i).asText();
                if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
                    throw new SlimqException(Failure.UNSUPPORTED, "layer_types entry '" + t + "' is not implemented");
                }
                out[i] = t.equals("sliding_attention");
            }
            return out;
        }
        for (int i = 0; i < layers; i++) {
            out[i] = switch (arch) {
                case MISTRAL -> true;
                case QWEN2, QWEN3 -> i >= raw.path("max_window_layers").asInt(28);
                case GEMMA2 -> i % 2 == 0;
                case GEMMA3 -> (i + 1) % raw.path("sliding_window_pattern").asInt(6) != 0;
                default -> false;
            };
        }
        return out;
    }

    private static float softcap(JsonNode raw, String key, double dflt) {
        JsonNode v = raw.path(key);
        double cap = v.isMissingNode() ? dflt : v.isNull() ? 0 : v.asDouble();
        if (!(cap >= 0) || Double.isInfinite(cap)) {
            throw new SlimqException(Failure.BAD_INPUT, key + " " + cap + " is not a positive number");
        }
        return (float) cap;
    }

    /** {@code 1 + w} for gemma's RMSNorm (computed in float as transformers does), else {@code w}; null stays null. */
    private static float[] gain(float[] w, boolean plusOne) {
        if (w == null || !plusOne) {
            return w;
        }
        float[] g = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            g[i] = 1f + w[i];
        }
        return g;
    }

    /** {@code x} rounded to {@code dtype} (F16 or BF16, nearest even); F32 and others unchanged. */
    static float inDtype(float x, DType dtype) {
        return switch (dtype) {
            case BF16 -> Float.intBitsToFloat(FloatCodec.floatToBf16(x) << 16);
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            default -> x;
        };
    }

    private static String need(Map<LinearRole, String> m, LinearRole role, int layer) {
        String name = m.get(role);
        if (name == null) {
            throw new SlimqException(Failure.BAD_INPUT, "layer " + layer + " has no " + role + " weight");
        }
        return name;
    }

    private static String bias(String weight) {
        return weight.substring(0, weight.length() - "weight".length()) + "bias";
    }
}
