package dev.slimq.core.layout;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.layout.TensorRole.Kind;
import dev.slimq.core.tensor.TensorInfo;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A checkpoint's tensors with what each one is: the single answer to "which tensors are the q
 * projections of layer 3", so that algorithms never parse tensor names themselves.
 *
 * <p>With a config of a recognized {@link Architecture}, tensors are classified by their HF names
 * and the config is cross-checked against them (projection and embedding shapes, layer count); a
 * disagreement is a {@link ModelConfigException} naming the tensor. Without a config, or for
 * {@link Architecture#UNKNOWN}, the heuristics of DESIGN.md section 2 apply: float matrices are
 * linear weights except those that look like an embedding or an output head (named so, or with as
 * many rows as the vocabulary outside any layer), 1-D tensors named like a norm are norms, and other
 * 1-D {@code .bias} tensors are biases.
 *
 * <p>Tensors are listed in natural name order (numbers compared as numbers, so layer 10 follows
 * layer 9), whatever order they were given in. Instances are immutable.
 */
public final class ModelLayout {
    private final Optional<ModelConfig> config;
    private final Architecture architecture;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private final Map<String, TensorRole> roles;
    private final Map<String, List<String>> fusedGroups;
    private final int numLayers;
    private final boolean tiedEmbeddings;

    private ModelLayout(Optional<ModelConfig> config, Collection<TensorInfo> given) {
        this.config = config;
        this.architecture = config.map(ModelConfig::architecture).orElse(Architecture.UNKNOWN);
        List<TensorInfo> sorted = new ArrayList<>(given);
        sorted.sort(Comparator.comparing(TensorInfo::name, ModelLayout::compareNatural));
        this.tensors = List.copyOf(sorted);
        Map<String, TensorInfo> names = new HashMap<>();
        for (TensorInfo t : tensors) {
            if (names.put(t.name(), t) != null) {
                throw new SlimqException(Failure.BAD_INPUT, "tensor " + t.name() + " appears more than once in the checkpoint");
            }
        }
        this.byName = Map.copyOf(names);
        boolean known = architecture != Architecture.UNKNOWN;
        long vocab = config.map(ModelConfig::vocabSize).orElse(0);
        this.roles = Map.copyOf(TensorClassifier.classify(architecture.family(), vocab, tensors));
        if (known) {
            LayoutChecks.check(config.orElseThrow(), tensors, roles);
        }

        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (TensorInfo t : tensors) {
            TensorRole role = roles.get(t.name());
            if (role.isLinear()) {
                groups.computeIfAbsent(role.group(), k -> new ArrayList<>()).add(t.name());
            }
        }
        groups.replaceAll((k, v) -> List.copyOf(v));  // already sorted: built in tensor order
        this.fusedGroups = Collections.unmodifiableMap(groups);

        int found = roles.values().stream().mapToInt(r -> r.layer().orElse(-1)).max().orElse(-1) + 1;
        this.numLayers = known ? config.orElseThrow().numHiddenLayers() : found;
        boolean hasHead = roles.values().stream().anyMatch(r -> r.kind() == Kind.LM_HEAD);
        boolean configTies = known && config.orElseThrow().tieWordEmbeddings();
        this.tiedEmbeddings = switch (architecture.family()) {
            case DECODER -> configTies || !hasHead;
            case ENCODER -> tensors.stream().anyMatch(t -> TensorClassifier.isEncoderMlmHead(t.name())) && (configTies || !hasHead);
            case UNKNOWN -> !hasHead && roles.values().stream().anyMatch(r -> r.kind() == Kind.EMBEDDING);
        };
    }

    /**
     * Builds the layout of a checkpoint. Throws {@link ModelConfigException} when a recognized config
     * contradicts the tensors, and a {@link Failure#BAD_INPUT} {@link SlimqException} for a duplicate name.
     */
    public static ModelLayout of(Optional<ModelConfig> config, Collection<TensorInfo> tensors) {
        return new ModelLayout(config, tensors);
    }

    /** The recognized architecture; UNKNOWN without a config. */
    public Architecture architecture() {
        return architecture;
    }

    public Optional<ModelConfig> config() {
        return config;
    }

    /** Every tensor, in natural name order. */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    /** The tensor of this name; {@link IllegalArgumentException} when there is none. */
    public TensorInfo tensor(String name) {
        return require(byName, name);
    }

    /** What the tensor of this name is; {@link IllegalArgumentException} when there is no such tensor. */
    public TensorRole role(String name) {
        return require(roles, name);
    }

    /** The layer of the tensor of this name; empty for tensors outside the layers. */
    public OptionalInt layerOf(String name) {
        return role(name).layer();
    }

    /** The tensors of one kind, in natural name order. */
    public List<TensorInfo> tensorsOf(Kind kind) {
        return tensors.stream().filter(t -> roles.get(t.name()).kind() == kind).toList();
    }

    /** The rank-2 linear weights: what quantization works on by default (DESIGN.md section 3). */
    public List<TensorInfo> linearWeights() {
        return tensorsOf(Kind.LINEAR);
    }

    /**
     * Every linear weight grouped by {@link TensorRole#group()}: tensors in one group must share one
     * quantization scheme. Groups appear in the order of their first tensor; names within a group are
     * in natural order. A linear weight outside any fused group forms a group of its own.
     */
    public Map<String, List<String>> fusedGroups() {
        return fusedGroups;
    }

    /**
     * The number of transformer layers: the config's {@code num_hidden_layers} for a recognized
     * architecture (checked against the tensors), otherwise one more than the highest layer index found.
     */
    public int numLayers() {
        return numLayers;
    }

    /**
     * Whether the output head reuses the embedding matrix. A decoder is tied when its config says so or
     * when there is no {@code lm_head} tensor; an encoder when it has a masked-LM head whose decoder
     * weight is absent or declared tied (a bare encoder has no head, so nothing is tied); an unknown
     * model when it has an embedding but no tensor that looks like an output head.
     */
    public boolean tiedEmbeddings() {
        return tiedEmbeddings;
    }

    private static <V> V require(Map<String, V> map, String name) {
        V v = map.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no tensor named " + name + " in this layout");
        }
        return v;
    }

    /** Compares names with digit runs as numbers ({@code layers.9} before {@code layers.10}), then as text. */
    static int compareNatural(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ei = digitsEnd(a, i);
            int ej = digitsEnd(b, j);
            int c = ei > i && ej > j
                    ? new BigInteger(a.substring(i, ei)).compareTo(new BigInteger(b.substring(j, ej)))
                    : Character.compare(a.charAt(i), b.charAt(j));
            if (c != 0) {
                return c;
            }
            i = Math.max(ei, i + 1);
            j = Math.max(ej, j + 1);
        }
        int c = Integer.compare(a.length() - i, b.length() - j);
        return c != 0 ? c : a.compareTo(b);
    }

    private static int digitsEnd(String s, int from) {
        int k = from;
        while (k < s.length() && s.charAt(k) >= '0' && s.charAt(k) <= '9') {
            k++;
        }
        return k;
    }
}
