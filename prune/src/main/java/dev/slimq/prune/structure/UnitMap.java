package dev.slimq.prune.structure;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.LinearRole;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Finds the structural units of a model from its {@link ModelLayout}: which rows and columns of
 * which tensors each MLP neuron and attention group owns. Tensor roles come from the layout; no
 * tensor name is parsed here.
 *
 * <p>Decoders (llama family): neuron j = gate row j + up row j + down column j; KV group g = K and V
 * rows {@code [g·d, (g+1)·d)}, the rows of its {@code n_rep = heads / kv_heads} query heads, and the
 * matching o_proj columns, which is how Adapt-Pruner couples them (root {@code k_proj},
 * {@code consecutive_groups = head_dim}, GQA index expansion). Biases of row-sliced projections
 * (Qwen2's q/k/v bias, BERT's) follow their weight's rows. BERT: neuron j = intermediate.dense row j
 * + bias j + output.dense column j; head h = query/key/value rows + biases and attention.output.dense
 * columns. Hidden size is never pruned.
 */
public final class UnitMap {
    private UnitMap() {
    }

    /** The unit groups of the selected kinds, layer by layer (MLP before attention within a layer). */
    public static List<UnitGroup> of(ModelLayout layout, UnitSelection selection) {
        Architecture arch = layout.architecture();
        if (arch.family() == Architecture.Family.UNKNOWN || layout.config().isEmpty()) {
            throw new SlimqException(Failure.UNSUPPORTED, "structural pruning needs a recognized architecture with its config.json"
                    + " (llama family or bert family); this checkpoint's architecture is not recognized");
        }
        ModelConfig c = layout.config().orElseThrow();
        boolean encoder = arch.family() == Architecture.Family.ENCODER;
        // layer -> role -> weight name; bias owner -> bias name
        Map<Integer, Map<LinearRole, String>> byLayer = new TreeMap<>();
        Map<String, String> biasOf = new java.util.HashMap<>();
        for (TensorInfo t : layout.tensors()) {
            TensorRole r = layout.role(t.name());
            if (r.isLinear() && r.layer().isPresent()) {
                LinearRole lr = r.linear().orElseThrow();
                if (lr == LinearRole.QKV || lr == LinearRole.GATE_UP) {
                    throw new SlimqException(Failure.UNSUPPORTED, "fused projections (" + t.name()
                            + ") are not supported by structural pruning yet");
                }
                byLayer.computeIfAbsent(r.layer().getAsInt(), k -> new EnumMap<>(LinearRole.class)).put(lr, t.name());
            } else if (r.kind() == TensorRole.Kind.BIAS && r.ownerWeight().isPresent()) {
                biasOf.put(r.ownerWeight().get(), t.name());
            }
        }
        int headDim = c.headDim();
        int heads = c.numAttentionHeads();
        int kv = encoder ? heads : c.numKeyValueHeads();
        if (heads < 1 || kv < 1 || heads % kv != 0 || headDim < 1) {
            throw new SlimqException(Failure.UNSUPPORTED, "config.json: " + heads + " attention heads and " + kv
                    + " key/value heads cannot be grouped");
        }
        int rep = heads / kv;
        List<UnitGroup> out = new ArrayList<>();
        for (int layer = 0; layer < layout.numLayers(); layer++) {
            Map<LinearRole, String> p = byLayer.getOrDefault(layer, Map.of());
            if (selection.includes(UnitKind.MLP_NEURON)) {
                List<UnitGroup.Member> m = new ArrayList<>();
                int inter = c.intermediateSize();
                if (encoder) {
                    rows(layout, m, biasOf, require(p, LinearRole.BERT_INTERMEDIATE, layer), 1, inter);
                    cols(layout, m, require(p, LinearRole.BERT_OUTPUT, layer), 1, inter);
                } else {
                    rows(layout, m, biasOf, require(p, LinearRole.GATE, layer), 1, inter);
                    rows(layout, m, biasOf, require(p, LinearRole.UP, layer), 1, inter);
                    cols(layout, m, require(p, LinearRole.DOWN, layer), 1, inter);
                }
                out.add(new UnitGroup(layer, UnitKind.MLP_NEURON, inter, 0, m));
            }
            if (selection.includes(UnitKind.ATTENTION_GROUP)) {
                List<UnitGroup.Member> m = new ArrayList<>();
                long qSpan = (long) rep * headDim;
                if (encoder) {
                    rows(layout, m, biasOf, require(p, LinearRole.BERT_QUERY, layer), qSpan, kv);
                    rows(layout, m, biasOf, require(p, LinearRole.BERT_KEY, layer), headDim, kv);
                    rows(layout, m, biasOf, require(p, LinearRole.BERT_VALUE, layer), headDim, kv);
                    cols(layout, m, require(p, LinearRole.BERT_ATTN_OUT, layer), qSpan, kv);
                } else {
                    rows(layout, m, biasOf, require(p, LinearRole.Q, layer), qSpan, kv);
                    rows(layout, m, biasOf, require(p, LinearRole.K, layer), headDim, kv);
                    rows(layout, m, biasOf, require(p, LinearRole.V, layer), headDim, kv);
                    cols(layout, m, require(p, LinearRole.O, layer), qSpan, kv);
                }
                out.add(new UnitGroup(layer, UnitKind.ATTENTION_GROUP, kv, rep, m));
            }
        }
        return List.copyOf(out);
    }

    /** Every unit of the groups, in group order then index order. */
    public static List<PruneUnit> units(List<UnitGroup> groups) {
        List<PruneUnit> u = new ArrayList<>();
        for (UnitGroup g : groups) {
            for (int i = 0; i < g.count(); i++) {
                u.add(new PruneUnit(g.layer(), g.kind(), i, g.parametersPerUnit()));
            }
        }
        return u;
    }

    private static String require(Map<LinearRole, String> p, LinearRole role, int layer) {
        String n = p.get(role);
        if (n == null) {
            throw new SlimqException(Failure.UNSUPPORTED, "layer " + layer + " has no " + role
                    + " projection; structural pruning needs the standard projections of the architecture");
        }
        return n;
    }

    private static void rows(ModelLayout layout, List<UnitGroup.Member> m, Map<String, String> biasOf, String weight, long span, long count) {
        TensorInfo t = checked(layout, weight);
        if (t.dim(0) != span * count) {
            throw new SlimqException(Failure.BAD_INPUT, "tensor " + weight + " is " + t.shapeString() + " but " + count
                    + " units of " + span + " rows were expected");
        }
        m.add(new UnitGroup.Member(weight, UnitGroup.Axis.ROW, span, t.dim(1)));
        Optional.ofNullable(biasOf.get(weight)).ifPresent(b -> {
            TensorInfo bt = checked(layout, b);
            if (bt.rank() != 1 || bt.dim(0) != span * count) {
                throw new SlimqException(Failure.BAD_INPUT, "bias " + b + " is " + bt.shapeString() + " but its weight has " + span * count + " rows");
            }
            m.add(new UnitGroup.Member(b, UnitGroup.Axis.ROW, span, 1));
        });
    }

    private static void cols(ModelLayout layout, List<UnitGroup.Member> m, String weight, long span, long count) {
        TensorInfo t = checked(layout, weight);
        if (t.dim(1) != span * count) {
            throw new SlimqException(Failure.BAD_INPUT, "tensor " + weight + " is " + t.shapeString() + " but " + count
                    + " units of " + span + " columns were expected");
        }
        m.add(new UnitGroup.Member(weight, UnitGroup.Axis.COLUMN, span, t.dim(0)));
    }

    private static TensorInfo checked(ModelLayout layout, String name) {
        TensorInfo t = layout.tensor(name);
        if (!t.dtype().isFloat() || t.dtype().isSubByte() || (t.rank() != 1 && t.rank() != 2)) {
            throw new SlimqException(Failure.UNSUPPORTED, "tensor " + name + " is " + t.dtype().wireName() + " " + t.shapeString()
                    + "; structural pruning works on unquantized float checkpoints (dequantize first)");
        }
        return t;
    }
}
