/**
 * Structural pruning ({@code slimq prune}, issue 6): removes whole MLP neurons, attention KV groups
 * (BERT heads) and whole layers, and writes a checkpoint whose config matches its tensors.
 *
 * <p>The method is Adapt-Pruner's (Pan et al., arXiv 2502.03460; github.com/research4pan/AdaptPruner):
 * units are the coupled groups Adapt-Pruner and LLM-Pruner remove (neuron j = gate row + up row +
 * down column; one KV group with its query heads and o_proj columns, never breaking GQA), scored
 * data-free by {@code gauss} (the default: each unit's expected output energy with its input modelled
 * as Gaussian channels of the feeding norm's scale and shift, {@code GaussianContribution})
 * or l1/l2 magnitude, or, with a {@code slimq calibrate} statistics file, FLAP's fluctuation or a
 * Wanda-style score; the per-layer sparsity is {@code base − A·I_l} clipped to [0, 0.99] with
 * A = 0.02 (the shipped scripts) and I the normalized layer importance (1 − cos(in, out) from the
 * statistics, else a weight proxy), optionally in {@code --steps} increments. FLAP (An et al., AAAI
 * 2024) contributes the zero-mask layout ({@code --unstr}: same function, stock shapes) and bias
 * compensation ({@link dev.slimq.prune.structure.BiasFlags} creates the biases Llama lacks).
 * Depth pruning ({@link dev.slimq.prune.structure.LayerDrop}) follows ShortGPT's rule.
 * Loadability (pruning_tokens.md section 3): only uniform widths fit a stock config (Minitron's
 * choice), hence {@link dev.slimq.prune.structure.PruneLayout#UNIFORM}; per-layer widths go to
 * Adapt-Pruner's lists or DeciLM's block_configs ({@link dev.slimq.prune.structure.ConfigLayouts});
 * BERT derives its head size from hidden/heads, so its heads are pruned in the mask and lists
 * layouts only.
 */
package dev.slimq.prune.structure;
