package dev.slimq.core.layout;

import dev.slimq.core.layout.TensorRole.Kind;
import dev.slimq.core.tensor.TensorInfo;
import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The only place that reads tensor names. Known families are matched by their HF module paths,
 * anchored at segment boundaries so that any wrapper prefix ({@code model.}, {@code bert.},
 * {@code roberta.}) is accepted; whatever a family's table does not name falls through to the shape
 * heuristics used for unknown architectures (DESIGN.md section 2).
 */
final class TensorClassifier {

    /** {@code layers.N.}, {@code layer.N.}, {@code h.N.}, {@code blocks.N.}, {@code blk.N.} as whole segments. */
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:layers|layer|h|blocks|blk)\\.(\\d{1,9})\\.");

    private static final Map<String, LinearRole> DECODER_LINEARS = Map.of(
            "self_attn.q_proj", LinearRole.Q, "self_attn.k_proj", LinearRole.K,
            "self_attn.v_proj", LinearRole.V, "self_attn.o_proj", LinearRole.O,
            "self_attn.qkv_proj", LinearRole.QKV, "mlp.gate_proj", LinearRole.GATE,
            "mlp.up_proj", LinearRole.UP, "mlp.gate_up_proj", LinearRole.GATE_UP,
            "mlp.down_proj", LinearRole.DOWN);

    private static final Map<String, LinearRole> ENCODER_LINEARS = Map.of(
            "attention.self.query", LinearRole.BERT_QUERY, "attention.self.key", LinearRole.BERT_KEY,
            "attention.self.value", LinearRole.BERT_VALUE, "attention.output.dense", LinearRole.BERT_ATTN_OUT,
            "intermediate.dense", LinearRole.BERT_INTERMEDIATE, "output.dense", LinearRole.BERT_OUTPUT);

    /** Non-linear matrices named by module path (a suffix at segment boundaries). */
    private static final Map<String, Kind> DECODER_TENSORS = Map.of("embed_tokens", Kind.EMBEDDING, "lm_head", Kind.LM_HEAD);

    private static final Map<String, Kind> ENCODER_TENSORS = Map.of(
            "embeddings.word_embeddings", Kind.EMBEDDING,
            "embeddings.position_embeddings", Kind.POSITION_EMBEDDING,
            "embeddings.token_type_embeddings", Kind.POSITION_EMBEDDING,
            "cls.predictions.decoder", Kind.LM_HEAD,
            "lm_head.decoder", Kind.LM_HEAD);

    private static final Set<LinearRole> ATTENTION_INPUTS = Set.of(LinearRole.Q, LinearRole.K, LinearRole.V,
            LinearRole.QKV, LinearRole.BERT_QUERY, LinearRole.BERT_KEY, LinearRole.BERT_VALUE);
    private static final Set<LinearRole> MLP_INPUTS = Set.of(LinearRole.GATE, LinearRole.UP, LinearRole.GATE_UP);

    private final Architecture.Family family;
    private final Set<String> names;
    private final long vocab;

    private TensorClassifier(Architecture.Family family, Set<String> names, long vocab) {
        this.family = family;
        this.names = names;
        this.vocab = vocab;
    }

    /**
     * Classifies every tensor. {@code vocabSize} is the config's, or 0 to infer it: the largest first
     * dimension of a top-level matrix named like an embedding or output head.
     */
    static Map<String, TensorRole> classify(Architecture.Family family, long vocabSize, Collection<TensorInfo> tensors) {
        long vocab = vocabSize > 0 ? vocabSize : tensors.stream()
                .filter(t -> isFloatMatrix(t) && !LAYER.matcher(t.name()).find() && (hintsEmbedding(t.name()) || hintsHead(t.name())))
                .mapToLong(t -> t.dim(0)).max().orElse(0);
        Set<String> names = Set.copyOf(tensors.stream().map(TensorInfo::name).toList());
        TensorClassifier c = new TensorClassifier(family, names, vocab);
        Map<String, TensorRole> roles = new HashMap<>();
        tensors.forEach(t -> roles.put(t.name(), c.classify(t)));
        return roles;
    }

    /** True for the tensors of a masked-LM head ({@code cls.predictions.*}, {@code lm_head.*}) of an encoder. */
    static boolean isEncoderMlmHead(String name) {
        return name.startsWith("cls.predictions.") || name.startsWith("lm_head.");
    }

    private TensorRole classify(TensorInfo t) {
        String name = t.name();
        Matcher m = LAYER.matcher(name);
        boolean inLayer = m.find();
        OptionalInt layer = inLayer ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
        int dot = name.lastIndexOf('.');
        String module = dot < 0 ? "" : name.substring(0, dot);
        String leaf = name.substring(dot + 1);
        String local = inLayer && m.end() <= dot ? name.substring(m.end(), dot) : "";  // module path inside the layer

        LinearRole known = switch (family) {
            case DECODER -> DECODER_LINEARS.get(local);
            case ENCODER -> inLayer ? ENCODER_LINEARS.get(local)
                    : endsWithSegments(module, "pooler.dense") ? LinearRole.BERT_POOLER : null;
            case UNKNOWN -> null;
        };
        if (known != null) {
            return switch (leaf) {
                case "weight" -> t.rank() == 2 ? TensorRole.linear(known, layer, groupKey(known, layer, name))
                        : TensorRole.of(Kind.OTHER, layer, name);
                case "bias" -> TensorRole.bias(layer, name, sibling(module + ".weight"));
                // Another leaf under a known projection (weight_scale, qweight, ...) is quantization metadata.
                default -> TensorRole.of(Kind.OTHER, layer, name);
            };
        }
        Map<String, Kind> named = switch (family) {
            case DECODER -> DECODER_TENSORS;
            case ENCODER -> ENCODER_TENSORS;
            case UNKNOWN -> Map.of();
        };
        if (leaf.equals("weight") && t.rank() == 2) {
            for (Map.Entry<String, Kind> e : named.entrySet()) {
                if (endsWithSegments(module, e.getKey())) {
                    return TensorRole.of(e.getValue(), layer, name);
                }
            }
        }
        if (family == Architecture.Family.ENCODER && leaf.equals("bias")
                && (module.equals("cls.predictions") || module.equals("lm_head"))) {
            return TensorRole.bias(layer, name, sibling(module + ".decoder.weight"));  // the MLM decoder's bias
        }
        return heuristic(t, layer, module, leaf);
    }

    /** DESIGN.md section 2: what a tensor is when no family table names it. */
    private TensorRole heuristic(TensorInfo t, OptionalInt layer, String module, String leaf) {
        String lower = module.toLowerCase(Locale.ROOT);
        if (t.rank() == 1 && isNormName(lower)) {
            return TensorRole.of(Kind.NORM, layer, t.name());
        }
        if (t.rank() == 1 && leaf.equals("bias")) {
            return TensorRole.bias(layer, t.name(), sibling(module + ".weight"));
        }
        if (!isFloatMatrix(t)) {
            return TensorRole.of(Kind.OTHER, layer, t.name());
        }
        boolean vocabRows = vocab > 0 && layer.isEmpty() && t.dim(0) == vocab;
        if (hintsEmbedding(t.name()) || hintsHead(t.name()) || vocabRows) {
            Kind kind = lower.contains("wpe") || lower.contains("position") || lower.contains("token_type")
                    ? Kind.POSITION_EMBEDDING
                    : hintsHead(t.name()) ? Kind.LM_HEAD : Kind.EMBEDDING;
            return TensorRole.of(kind, layer, t.name());
        }
        return TensorRole.linear(LinearRole.OTHER_LINEAR, layer, t.name());
    }

    private static String groupKey(LinearRole role, OptionalInt layer, String name) {
        if (ATTENTION_INPUTS.contains(role)) {
            return "layers." + layer.getAsInt() + ".attn_in";
        }
        return MLP_INPUTS.contains(role) ? "layers." + layer.getAsInt() + ".mlp_in" : name;
    }

    private Optional<String> sibling(String name) {
        return names.contains(name) ? Optional.of(name) : Optional.empty();
    }

    private static boolean endsWithSegments(String module, String suffix) {
        return module.equals(suffix) || module.endsWith("." + suffix);
    }

    private static boolean isFloatMatrix(TensorInfo t) {
        return t.rank() == 2 && t.dtype().isFloat();
    }

    /** {@code *norm*} anywhere, or a segment {@code ln}, {@code ln_*} or {@code *_ln} (GPT-2's {@code ln_f}). */
    private static boolean isNormName(String lowerModule) {
        for (String segment : lowerModule.split("\\.")) {
            if (segment.contains("norm") || segment.equals("ln") || segment.startsWith("ln_") || segment.endsWith("_ln")) {
                return true;
            }
        }
        return false;
    }

    private static boolean hintsEmbedding(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.contains("embed") || lower.contains("embd") || lower.contains("wte") || lower.contains("wpe");
    }

    /** An output head by name: the last module is {@code lm_head}, {@code output}, {@code decoder}, {@code head} or GPT-NeoX's {@code embed_out}. */
    private static boolean hintsHead(String name) {
        String[] segments = name.toLowerCase(Locale.ROOT).split("\\.");
        String last = segments.length < 2 ? "" : segments[segments.length - 2];
        return Set.of("lm_head", "output", "decoder", "head", "embed_out").contains(last);
    }
}
