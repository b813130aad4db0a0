package dev.slimq.core.layout;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.core.IoFailures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * The structural facts of a Hugging Face {@code config.json}, validated, with transformers' own
 * defaults applied where a config may omit a key.
 *
 * <p>Defaults follow the transformers config classes rather than one rule for all, because a
 * checkpoint means what transformers loads it as: {@code head_dim} is {@code hidden_size /
 * num_attention_heads} except for Gemma (256) and Qwen3 (128); {@code tie_word_embeddings} defaults to
 * true for Gemma and the BERT family and to false for Llama, Mistral, Qwen2/3 and Phi-3;
 * {@code num_key_value_heads} defaults to {@code num_attention_heads}.
 *
 * <p>For a recognized architecture every count is positive: {@code hidden_size},
 * {@code num_hidden_layers}, {@code num_attention_heads}, {@code intermediate_size} and
 * {@code vocab_size} are required, heads divide {@code hidden_size} when {@code head_dim} is derived
 * from it, and key/value heads divide the query heads. For {@link Architecture#UNKNOWN} the same keys
 * are read and checked when present, and a count the config does not state is 0. Keys not modelled
 * here stay available through {@link #raw()}.
 *
 * @param normEps {@code rms_norm_eps} (decoders) or {@code layer_norm_eps} (encoders), the
 *     architecture's default when absent; 0 only for UNKNOWN configs that state neither
 * @param ropeTheta {@code rope_theta}, or {@code rope_parameters.rope_theta} as transformers 5 writes
 *     it, else the architecture's default; empty for encoders, which use no rotary embedding
 * @param perLayer per-layer widths when {@code intermediate_size}, {@code num_attention_heads} or
 *     {@code num_key_value_heads} is a list with one entry per layer (Adapt-Pruner style configs, as
 *     {@code slimq prune --layout lists} writes them); the scalar components then hold the largest
 *     entry. Empty lists when the config gives one number.
 */
public record ModelConfig(
        Architecture architecture,
        Optional<String> modelType,
        List<String> architectures,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int intermediateSize,
        int vocabSize,
        boolean tieWordEmbeddings,
        double normEps,
        OptionalDouble ropeTheta,
        OptionalInt maxPositionEmbeddings,
        JsonNode raw,
        PerLayer perLayer) {

    /** Per-layer widths of a config that lists them; each list is empty or has one entry per layer. */
    public record PerLayer(List<Integer> attentionHeads, List<Integer> keyValueHeads, List<Integer> intermediateSizes) {
        public PerLayer {
            attentionHeads = List.copyOf(attentionHeads);
            keyValueHeads = List.copyOf(keyValueHeads);
            intermediateSizes = List.copyOf(intermediateSizes);
        }

        static final PerLayer NONE = new PerLayer(List.of(), List.of(), List.of());
    }

    /** {@code intermediate_size} of layer {@code layer} (the one number, or its list entry). */
    public int intermediateSize(int layer) {
        return perLayer.intermediateSizes().isEmpty() ? intermediateSize : perLayer.intermediateSizes().get(layer);
    }

    /** {@code num_attention_heads} of layer {@code layer}. */
    public int numAttentionHeads(int layer) {
        return perLayer.attentionHeads().isEmpty() ? numAttentionHeads : perLayer.attentionHeads().get(layer);
    }

    /** {@code num_key_value_heads} of layer {@code layer}. */
    public int numKeyValueHeads(int layer) {
        if (!perLayer.keyValueHeads().isEmpty()) {
            return perLayer.keyValueHeads().get(layer);
        }
        // A config that lists query heads but states one KV count keeps it; one that states none has MHA per layer.
        return perLayer.attentionHeads().isEmpty() || raw.has("num_key_value_heads") ? numKeyValueHeads : numAttentionHeads(layer);
    }

    /** Whether any width is given per layer. */
    public boolean hasPerLayerWidths() {
        return !perLayer.equals(PerLayer.NONE);
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String DEFAULT_SOURCE = "config.json";

    public ModelConfig {
        architectures = List.copyOf(architectures);
        raw = raw.deepCopy();
    }

    /** Reads and validates a config file; errors name {@code file}. */
    public static ModelConfig read(Path file) {
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            String why = String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("");
            throw new ModelConfigException("", file + ": not valid JSON: " + why);
        } catch (IOException e) {
            throw IoFailures.wrap("read", file, e);
        }
        return parse(root, file.toString());
    }

    /** Validates an already parsed config; errors name {@code config.json}. */
    public static ModelConfig of(JsonNode root) {
        return parse(root, DEFAULT_SOURCE);
    }

    /** The {@code raw} node is a defensive copy; this returns a fresh copy each call. */
    @Override
    public JsonNode raw() {
        return raw.deepCopy();
    }

    private static ModelConfig parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new ModelConfigException("", source + ": expected a JSON object at the top level");
        }
        Fields f = new Fields(root, source);
        Optional<String> modelType = f.string("model_type");
        List<String> classes = f.strings("architectures");
        Architecture arch = Architecture.recognize(modelType, classes);
        boolean known = arch != Architecture.UNKNOWN;
        boolean encoder = arch.family() == Architecture.Family.ENCODER;

        int hidden = f.count("hidden_size", known);
        int layers = f.count("num_hidden_layers", known);
        List<Integer> headsList = f.perLayer("num_attention_heads", layers);
        List<Integer> kvList = f.perLayer("num_key_value_heads", layers);
        List<Integer> interList = f.perLayer("intermediate_size", layers);
        int heads = headsList.isEmpty() ? f.count("num_attention_heads", known) : java.util.Collections.max(headsList);
        int kvHeads = kvList.isEmpty() ? f.optionalCount("num_key_value_heads").orElse(heads) : java.util.Collections.max(kvList);
        int intermediate = interList.isEmpty() ? f.count("intermediate_size", known) : java.util.Collections.max(interList);
        PerLayer perLayer = new PerLayer(headsList, kvList, interList);
        int vocab = f.count("vocab_size", known);

        OptionalInt statedHeadDim = f.optionalCount("head_dim");
        int headDim;
        if (statedHeadDim.isPresent()) {
            headDim = statedHeadDim.getAsInt();
        } else if (!headsList.isEmpty()) {
            throw new ModelConfigException("head_dim", source + ": num_attention_heads is given per layer, so head_dim must be stated");
        } else if (defaultHeadDim(arch) > 0) {
            headDim = defaultHeadDim(arch);
        } else if (heads > 0 && hidden % heads != 0) {
            throw new ModelConfigException("num_attention_heads", source + ": num_attention_heads " + heads
                    + " does not divide hidden_size " + hidden + " and there is no head_dim");
        } else {
            headDim = heads > 0 ? hidden / heads : 0;
        }
        if (perLayer.equals(PerLayer.NONE)) {
            if (kvHeads > 0 && heads > 0 && heads % kvHeads != 0) {
                throw new ModelConfigException("num_key_value_heads", source + ": num_key_value_heads " + kvHeads
                        + " does not divide num_attention_heads " + heads);
            }
        } else {
            for (int l = 0; l < layers; l++) {
                int h = headsList.isEmpty() ? heads : headsList.get(l);
                int kv = kvList.isEmpty() ? (root.has("num_key_value_heads") ? kvHeads : h) : kvList.get(l);
                if (h % kv != 0) {
                    throw new ModelConfigException("num_key_value_heads", source + ": layer " + l + ": num_key_value_heads " + kv
                            + " does not divide num_attention_heads " + h);
                }
            }
        }

        boolean tie = f.bool("tie_word_embeddings").orElse(defaultTie(arch));
        OptionalDouble statedEps = switch (arch.family()) {
            case DECODER -> f.positive("rms_norm_eps");
            case ENCODER -> f.positive("layer_norm_eps");
            case UNKNOWN -> f.positive("rms_norm_eps").isPresent() ? f.positive("rms_norm_eps") : f.positive("layer_norm_eps");
        };
        double eps = statedEps.orElse(defaultEps(arch));
        OptionalDouble rope = OptionalDouble.empty();
        if (!encoder) {
            OptionalDouble stated = f.positive("rope_theta");
            if (stated.isEmpty() && root.path("rope_parameters").isObject()) {
                stated = new Fields(root.get("rope_parameters"), source, "rope_parameters.").positive("rope_theta");
            }
            rope = stated.isPresent() || !known ? stated : OptionalDouble.of(arch == Architecture.GEMMA3 ? 1_000_000.0 : 10_000.0);
        }
        OptionalInt maxPositions = f.optionalCount("max_position_embeddings");
        return new ModelConfig(arch, modelType, classes, hidden, layers, heads, kvHeads, headDim, intermediate,
                vocab, tie, eps, rope, maxPositions, root, perLayer);
    }

    private static int defaultHeadDim(Architecture arch) {
        return switch (arch) {
            case GEMMA, GEMMA2, GEMMA3 -> 256;
            case QWEN3 -> 128;
            default -> 0;
        };
    }

    private static boolean defaultTie(Architecture arch) {
        return switch (arch) {
            case LLAMA, MISTRAL, QWEN2, QWEN3, PHI3 -> false;
            // gemma ties by default; the BERT family inherits PretrainedConfig's default (true).
            case GEMMA, GEMMA2, GEMMA3, BERT, ROBERTA, XLM_ROBERTA, UNKNOWN -> true;
        };
    }

    private static double defaultEps(Architecture arch) {
        return switch (arch) {
            case BERT, ROBERTA, XLM_ROBERTA -> 1e-12;
            case PHI3 -> 1e-5;
            case UNKNOWN -> 0;
            default -> 1e-6;
        };
    }

    /** Typed access to one JSON object; every complaint is one line naming the source and the key. */
    private record Fields(JsonNode node, String source, String prefix) {
        Fields(JsonNode node, String source) {
            this(node, source, "");
        }

        private JsonNode get(String key) {
            JsonNode v = node.get(key);
            return v == null || v.isNull() ? null : v;
        }

        private ModelConfigException bad(String key, String expected, JsonNode v) {
            return new ModelConfigException(prefix + key, source + ": \"" + prefix + key + "\" must be " + expected
                    + ", got " + abbreviate(v.toString()));
        }

        private static String abbreviate(String json) {
            return json.length() <= 40 ? json : json.substring(0, 37) + "...";
        }

        int count(String key, boolean required) {
            OptionalInt v = optionalCount(key);
            if (v.isEmpty() && required) {
                throw new ModelConfigException(prefix + key, source + ": \"" + prefix + key + "\" is missing");
            }
            return v.orElse(0);
        }

        /**
         * A key given as a list with one positive integer per layer (empty when it is absent or a
         * single number, which {@link #count} then reads).
         */
        List<Integer> perLayer(String key, int layers) {
            JsonNode v = get(key);
            if (v == null || !v.isArray()) {
                return List.of();
            }
            String expected = "one positive integer per layer (" + layers + ")";
            if (v.size() != layers) {
                throw bad(key, expected, v);
            }
            List<Integer> out = new java.util.ArrayList<>(layers);
            for (JsonNode e : v) {
                if (!e.isIntegralNumber() || !e.canConvertToInt() || e.intValue() <= 0) {
                    throw bad(key, expected, v);
                }
                out.add(e.intValue());
            }
            return out;
        }

        OptionalInt optionalCount(String key) {
            JsonNode v = get(key);
            if (v == null) {
                return OptionalInt.empty();
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
                throw bad(key, "a positive integer", v);
            }
            return OptionalInt.of(v.intValue());
        }

        OptionalDouble positive(String key) {
            JsonNode v = get(key);
            if (v == null) {
                return OptionalDouble.empty();
            }
            if (!v.isNumber() || !Double.isFinite(v.doubleValue()) || v.doubleValue() <= 0) {
                throw bad(key, "a positive number", v);
            }
            return OptionalDouble.of(v.doubleValue());
        }

        Optional<Boolean> bool(String key) {
            JsonNode v = get(key);
            if (v != null && !v.isBoolean()) {
                throw bad(key, "true or false", v);
            }
            return Optional.ofNullable(v).map(JsonNode::booleanValue);
        }

        Optional<String> string(String key) {
            JsonNode v = get(key);
            if (v != null && !v.isTextual()) {
                throw bad(key, "a string", v);
            }
            return Optional.ofNullable(v).map(JsonNode::textValue);
        }

        List<String> strings(String key) {
            JsonNode v = get(key);
            if (v == null) {
                return List.of();
            }
            List<String> out = new ArrayList<>();
            if (v.isArray()) {
                v.forEach(e -> out.add(e.isTextual() ? e.textValue() : null));
            }
            if (!v.isArray() || out.contains(null)) {
                throw bad(key, "an array of strings", v);
            }
            return out;
        }
    }
}
