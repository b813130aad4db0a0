package dev.slimq.prune.structure;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Locale;

/** How the pruned model is written (DESIGN.md section 4; pruning_tokens.md section 3). */
public enum PruneLayout {
    /**
     * Every layer keeps the same widths, so the stock config describes the model: intermediate_size,
     * num_attention_heads and num_key_value_heads are rewritten and transformers and vLLM load it
     * (Minitron's choice). The per-layer Adapt-Pruner sparsities are averaged into one.
     */
    UNIFORM,
    /**
     * Pruned units are zeroed and shapes stay: the same function as the physically pruned model
     * (FLAP's {@code --unstr}), loadable anywhere, no memory saved; for evaluation.
     */
    MASK,
    /**
     * DeciLM / Nemotron-NAS {@code block_configs} (model_type {@code nemotron-nas}, which vLLM's
     * {@code DeciLMForCausalLM} loads): per-layer FFN width as {@code ffn_mult}, so widths are
     * multiples of 256; query heads are global there, so attention pruning is refused.
     */
    DECI,
    /**
     * Adapt-Pruner's per-layer config: {@code intermediate_size}, {@code num_attention_heads},
     * {@code num_key_value_heads} as one entry per layer, {@code head_dim} explicit; for code that
     * reads per-layer lists (stock transformers does not). Allows BERT head pruning.
     */
    LISTS;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static PruneLayout fromName(String name) {
        for (PruneLayout l : values()) {
            if (l.cliName().equalsIgnoreCase(name.strip())) {
                return l;
            }
        }
        throw new SlimqException(Failure.USAGE, "unknown --layout '" + name + "'; use uniform, lists, deci or mask");
    }
}
