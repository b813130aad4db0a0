package dev.slimq.runtime.llama;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.runtime.WeightReader;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.LinearRole;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.tensor.TensorInfo;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama-family decoder's weights, every tensor decoded to {@code float[]} once (whatever float dtype
 * the checkpoint stores). Quantized checkpoints are not read here ({@code runtime} may not depend on
 * {@code quantize}, DESIGN.md section 1): dequantize them first.
 *
 * <p>Linear weights are found through the layout's roles ({@link LinearRole#Q} ... {@link LinearRole#DOWN}),
 * the token table and output projection through {@link TensorRole.Kind#EMBEDDING} and
 * {@link TensorRole.Kind#LM_HEAD}; norms sit next to them under HF's names ({@code input_layernorm},
 * {@code post_attention_layernorm}, {@code self_attn.q_norm}/{@code k_norm}, the final {@code norm}).
 * Linear weights are {@code [out, in]}, row-major, as HF stores them.
 *
 * <p>Supported: llama, mistral (windows up to its {@code sliding_window}), qwen2 (q/k/v biases) and
 * qwen3 (per-head RMSNorm of q and k before RoPE). Not yet: gemma (its norm offset, embedding scale and
 * GeGLU), fused Phi-3 projections, and {@code rope_scaling}.
 *
 * @param lmHead {@code [vocab, hidden]}; the very same array as {@code embedding} when tied
 * @param slidingWindow Mistral's attention window, or 0 for none
 */
public record LlamaWeights(Architecture architecture, int hidden, int heads, int kvHeads, int headDim, int intermediate,
        int vocab, float eps, double ropeTheta, int slidingWindow, float[] embedding, float[] finalNorm, float[] lmHead,
        boolean tied, Layer[] layers) {

    /**
     * One decoder block. Linears are {@code [out, in]}; {@code qBias}/{@code kBias}/{@code vBias} are
     * null when the checkpoint has none (all but qwen2), {@code qNorm}/{@code kNorm} ({@code [headDim]})
     * null except for qwen3.
     */
    public record Layer(float[] inputNorm, float[] q, float[] qBias, float[] k, float[] kBias, float[] v, float[] vBias,
            float[] qNorm, float[] kNorm, float[] o, float[] postNorm, float[] gate, float[] up, float[] down) {
    }

    /** Reads and checks every weight of a llama, mistral, qwen2 or qwen3 checkpoint. */
    public static LlamaWeights load(Checkpoint checkpoint) {
        ModelLayout layout = checkpoint.layout();
        ModelConfig config = layout.config().orElseThrow(() -> new SlimqException(Failure.BAD_INPUT,
                checkpoint.root() + ": no config.json; the forward pass needs the model's dimensions"));
        Architecture arch = config.architecture();
        if (arch != Architecture.LLAMA && arch != Architecture.MISTRAL && arch != Architecture.QWEN2
                && arch != Architecture.QWEN3) {
            throw new SlimqException(Failure.UNSUPPORTED, checkpoint.root() + ": " + arch
                    + " is not supported by the decoder forward pass; only llama, mistral, qwen2 and qwen3 run here so far");
        }
        var raw = config.raw();
        String act = raw.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new SlimqException(Failure.UNSUPPORTED, "hidden_act '" + act + "': only \"silu\" (SwiGLU) is implemented");
        }
        var scaling = raw.path("rope_scaling");
        if (!scaling.isMissingNode() && !scaling.isNull()) {
            String type = scaling.path("rope_type").asText(scaling.path("type").asText("default"));
            if (!type.equals("default")) {
                throw new SlimqException(Failure.UNSUPPORTED, "rope_scaling '" + type + "' is not implemented yet");
            }
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
        int window = 0;
        if (arch == Architecture.MISTRAL && raw.path("sliding_window").isNumber()) {
            window = raw.path("sliding_window").asInt();
        }
        if (arch == Architecture.QWEN2 && raw.path("use_sliding_window").asBoolean(false)) {
            throw new SlimqException(Failure.UNSUPPORTED, "qwen2 use_sliding_window is not implemented");
        }

        WeightReader r = new WeightReader(checkpoint);
        List<TensorInfo> embs = layout.tensorsOf(TensorRole.Kind.EMBEDDING);
        if (embs.size() != 1) {
            throw new SlimqException(Failure.BAD_INPUT, checkpoint.root() + ": expected one token embedding, found " + embs.size());
        }
        String embName = embs.get(0).name();
        int vocab = Math.toIntExact(embs.get(0).shape()[0]);
        float[] embedding = r.read(embName, vocab, hidden);
        // "model.embed_tokens.weight" -> "model.norm.weight"
        int dot = embName.lastIndexOf("embed_tokens.weight");
        String base = dot >= 0 ? embName.substring(0, dot) : "model.";
        float[] finalNorm = r.read(base + "norm.weight", hidden);
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
            layers[l] = new Layer(r.read(p + "input_layernorm.weight", hidden),
                    r.read(q, (long) heads * d, hidden), r.optional(bias(q), (long) heads * d),
                    r.read(k, (long) kvHeads * d, hidden), r.optional(bias(k), (long) kvHeads * d),
                    r.read(v, (long) kvHeads * d, hidden), r.optional(bias(v), (long) kvHeads * d),
                    r.optional(p + "self_attn.q_norm.weight", d), r.optional(p + "self_attn.k_norm.weight", d),
                    r.read(o, hidden, (long) heads * d), r.read(p + "post_attention_layernorm.weight", hidden),
                    r.read(g, inter, hidden), r.read(u, inter, hidden), r.read(dn, hidden, inter));
            if ((layers[l].qNorm() == null) != (layers[l].kNorm() == null)) {
                throw new SlimqException(Failure.BAD_INPUT, "layer " + l + " has only one of q_norm and k_norm");
            }
        }
        return new LlamaWeights(arch, hidden, heads, kvHeads, d, inter, vocab, (float) config.normEps(), theta, window,
                embedding, finalNorm, lmHead, tied, layers);
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
