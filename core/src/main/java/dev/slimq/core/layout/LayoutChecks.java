package dev.slimq.core.layout;

import dev.slimq.core.tensor.TensorInfo;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Cross-checks a recognized config against the tensors, so that a config that does not describe its
 * checkpoint fails when the layout is built rather than as a shape error deep inside an algorithm.
 *
 * <p>Only checks that hold for every checkpoint transformers itself can load are made: projection and
 * embedding shapes (which transformers also insists on) and the set of layer indices. Weights stored
 * in integer types are skipped, because quantized storage packs several values per element.
 */
final class LayoutChecks {
    private static final String SOURCE = "config.json";

    private LayoutChecks() {
    }

    static void check(ModelConfig c, List<TensorInfo> tensors, Map<String, TensorRole> roles) {
        for (TensorInfo t : tensors) {
            TensorRole role = roles.get(t.name());
            if (t.rank() == 2 && t.dtype().isFloat()) {
                checkShape(c, t, role);
            }
        }
        checkLayers(c, tensors, roles);
    }

    /** One dimension the config implies, and the key that implies it. */
    private record Dim(long size, String field) {
    }

    private static void checkShape(ModelConfig c, TensorInfo t, TensorRole role) {
        Dim hidden = new Dim(c.hiddenSize(), "hidden_size");
        // Per-layer configs (lists layout) give each layer its own widths; layer-less tensors use the scalars.
        int layer = role.layer().orElse(-1);
        boolean own = layer >= 0 && layer < c.numHiddenLayers();
        Dim qRows = new Dim((long) (own ? c.numAttentionHeads(layer) : c.numAttentionHeads()) * c.headDim(), "num_attention_heads");
        Dim kvRows = new Dim((long) (own ? c.numKeyValueHeads(layer) : c.numKeyValueHeads()) * c.headDim(), "num_key_value_heads");
        Dim inter = new Dim(own ? c.intermediateSize(layer) : c.intermediateSize(), "intermediate_size");
        Dim vocab = new Dim(c.vocabSize(), "vocab_size");
        Dim[] expected = switch (role.kind()) {
            case EMBEDDING, LM_HEAD -> new Dim[] {vocab, hidden};
            case LINEAR -> switch (role.linear().orElseThrow()) {
                case Q, BERT_QUERY -> new Dim[] {qRows, hidden};
                case K, V, BERT_KEY, BERT_VALUE -> new Dim[] {kvRows, hidden};
                case O, BERT_ATTN_OUT -> new Dim[] {hidden, qRows};
                case QKV -> new Dim[] {new Dim(qRows.size + 2 * kvRows.size, "num_key_value_heads"), hidden};
                case GATE, UP, BERT_INTERMEDIATE -> new Dim[] {inter, hidden};
                case GATE_UP -> new Dim[] {new Dim(2L * inter.size, "intermediate_size"), hidden};
                case DOWN, BERT_OUTPUT -> new Dim[] {hidden, inter};
                case BERT_POOLER -> new Dim[] {hidden, hidden};
                case OTHER_LINEAR -> null;
            };
            default -> null;
        };
        if (expected == null) {
            return;
        }
        for (int i = 0; i < 2; i++) {
            if (t.dim(i) != expected[i].size) {
                throw new ModelConfigException(expected[i].field, t.name(), SOURCE + ": " + expected[i].field
                        + ": tensor " + t.name() + " is " + t.shapeString() + " but the config implies ["
                        + expected[0].size + ", " + expected[1].size + "]");
            }
        }
    }

    private static void checkLayers(ModelConfig c, List<TensorInfo> tensors, Map<String, TensorRole> roles) {
        Map<Integer, String> firstTensorOfLayer = new TreeMap<>();
        for (TensorInfo t : tensors) {
            roles.get(t.name()).layer().ifPresent(i -> firstTensorOfLayer.putIfAbsent(i, t.name()));
        }
        int n = c.numHiddenLayers();
        firstTensorOfLayer.forEach((i, name) -> {
            if (i >= n) {
                throw new ModelConfigException("num_hidden_layers", name, SOURCE + ": num_hidden_layers is " + n
                        + " but tensor " + name + " is in layer " + i);
            }
        });
        for (int i = 0; i < n; i++) {
            if (!firstTensorOfLayer.containsKey(i)) {
                throw new ModelConfigException("num_hidden_layers", SOURCE + ": num_hidden_layers is " + n
                        + " but no tensor belongs to layer " + i);
            }
        }
    }
}
