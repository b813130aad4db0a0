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
    /** DeciLM / Nemotron-NAS {@code block_configs}: not implemented yet. */
    DECI,
    /** Adapt-Pruner's per-layer config lists: not implemented yet. */
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
        throw new SlimqException(Failure.USAGE, "unknown --layout '" + name + "'; use uniform or mask (deci and lists are planned)");
    }
}
