package dev.slimq.core.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Adapt-Pruner style configs (prune --layout lists): widths given per layer, checked per layer against the tensors. */
class PerLayerConfigTest {
    static final String LISTS = """
            {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": [4, 2],
             "num_key_value_heads": [2, 1], "head_dim": 16, "intermediate_size": [128, 96], "vocab_size": 100}""";

    /** Layer 0: 4 query / 2 KV heads of 16, MLP 128; layer 1: 2 / 1 heads, MLP 96 (shapes written out by hand). */
    static List<TensorInfo> tensors(long layer1Inter) {
        List<TensorInfo> ts = new ArrayList<>();
        ts.add(TensorInfo.planned("model.embed_tokens.weight", DType.BF16, 100, 64));
        ts.add(TensorInfo.planned("model.norm.weight", DType.BF16, 64));
        ts.add(TensorInfo.planned("lm_head.weight", DType.BF16, 100, 64));
        long[][] dims = {{64, 32, 128}, {32, 16, layer1Inter}};
        for (int i = 0; i < 2; i++) {
            String p = "model.layers." + i + ".";
            ts.add(TensorInfo.planned(p + "self_attn.q_proj.weight", DType.BF16, dims[i][0], 64));
            ts.add(TensorInfo.planned(p + "self_attn.k_proj.weight", DType.BF16, dims[i][1], 64));
            ts.add(TensorInfo.planned(p + "self_attn.v_proj.weight", DType.BF16, dims[i][1], 64));
            ts.add(TensorInfo.planned(p + "self_attn.o_proj.weight", DType.BF16, 64, dims[i][0]));
            ts.add(TensorInfo.planned(p + "mlp.gate_proj.weight", DType.BF16, dims[i][2], 64));
            ts.add(TensorInfo.planned(p + "mlp.up_proj.weight", DType.BF16, dims[i][2], 64));
            ts.add(TensorInfo.planned(p + "mlp.down_proj.weight", DType.BF16, 64, dims[i][2]));
            ts.add(TensorInfo.planned(p + "input_layernorm.weight", DType.BF16, 64));
            ts.add(TensorInfo.planned(p + "post_attention_layernorm.weight", DType.BF16, 64));
        }
        return ts;
    }

    @Test
    void listsAreReadPerLayerWithTheLargestAsTheScalar() {
        ModelConfig c = ModelConfigTest.config(LISTS);
        assertTrue(c.hasPerLayerWidths());
        assertEquals(4, c.numAttentionHeads());
        assertEquals(128, c.intermediateSize());
        assertEquals(2, c.numAttentionHeads(1));
        assertEquals(1, c.numKeyValueHeads(1));
        assertEquals(96, c.intermediateSize(1));
        assertEquals(128, c.intermediateSize(0));
        assertEquals(List.of(128, 96), c.perLayer().intermediateSizes());
        ModelLayout.of(Optional.of(c), tensors(96)); // consistent: no exception
    }

    @Test
    void aTensorThatDisagreesWithItsLayersEntryIsRejected() {
        ModelConfig c = ModelConfigTest.config(LISTS);
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> ModelLayout.of(Optional.of(c), tensors(128)));
        assertTrue(e.getMessage().contains("intermediate_size") && e.getMessage().contains("model.layers.1.mlp"), e.getMessage());
    }

    @Test
    void badListsAreOneLineErrors() {
        String wrongLength = LISTS.replace("[128, 96]", "[128]");
        assertTrue(assertThrows(ModelConfigException.class, () -> ModelConfigTest.config(wrongLength)).getMessage()
                .contains("one positive integer per layer (2)"));
        String notPositive = LISTS.replace("[128, 96]", "[128, 0]");
        assertThrows(ModelConfigException.class, () -> ModelConfigTest.config(notPositive));
        String noHeadDim = LISTS.replace("\"head_dim\": 16, ", "");
        assertTrue(assertThrows(ModelConfigException.class, () -> ModelConfigTest.config(noHeadDim)).getMessage().contains("head_dim"));
        String indivisible = LISTS.replace("[2, 1]", "[2, 3]");
        assertTrue(assertThrows(ModelConfigException.class, () -> ModelConfigTest.config(indivisible)).getMessage().contains("layer 1"));
    }
}
