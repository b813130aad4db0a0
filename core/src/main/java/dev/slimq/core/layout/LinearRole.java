package dev.slimq.core.layout;

/**
 * Which projection of the network a linear weight is. Algorithms use this instead of tensor names:
 * pruning needs to know that gate/up rows and down columns belong to the same neurons, quantizers
 * that q/k/v read the same input.
 *
 * <p>Decoder roles follow the HF llama family ({@code self_attn.q_proj}, {@code mlp.down_proj}),
 * with Phi-3's fused {@code qkv_proj} and {@code gate_up_proj}; encoder roles follow HF BERT.
 */
public enum LinearRole {
    /** {@code self_attn.q_proj}: [heads * head_dim, hidden]. */
    Q,
    /** {@code self_attn.k_proj}: [kv_heads * head_dim, hidden]. */
    K,
    /** {@code self_attn.v_proj}: [kv_heads * head_dim, hidden]. */
    V,
    /** {@code self_attn.o_proj}: [hidden, heads * head_dim]. */
    O,
    /** Phi-3 {@code self_attn.qkv_proj}: q, k and v stacked by rows. */
    QKV,
    /** {@code mlp.gate_proj}: [intermediate, hidden]. */
    GATE,
    /** {@code mlp.up_proj}: [intermediate, hidden]. */
    UP,
    /** Phi-3 {@code mlp.gate_up_proj}: gate and up stacked by rows. */
    GATE_UP,
    /** {@code mlp.down_proj}: [hidden, intermediate]. */
    DOWN,
    /** {@code attention.self.query}. */
    BERT_QUERY,
    /** {@code attention.self.key}. */
    BERT_KEY,
    /** {@code attention.self.value}. */
    BERT_VALUE,
    /** {@code attention.output.dense}: mixes the heads back to hidden. */
    BERT_ATTN_OUT,
    /** {@code intermediate.dense}: [intermediate, hidden]. */
    BERT_INTERMEDIATE,
    /** {@code output.dense}: [hidden, intermediate]. */
    BERT_OUTPUT,
    /** {@code pooler.dense}. */
    BERT_POOLER,
    /** Any other matrix that acts as a linear map (heads of task models, unknown architectures). */
    OTHER_LINEAR
}
