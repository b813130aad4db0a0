/**
 * Structural pruning ({@code slimq prune}, issue 6): removes whole MLP neurons and attention KV groups
 * (BERT heads) and writes a checkpoint whose config matches its tensors.
 *
 * <p>The method is Adapt-Pruner's (Pan et al., arXiv 2502.03460; github.com/research4pan/AdaptPruner),
 * data-free for now: units are the coupled groups Adapt-Pruner and LLM-Pruner remove (neuron j = gate
 * row + up row + down column; one KV group with its query heads and o_proj columns, never breaking
 * GQA), scored by l1/l2 magnitude; the per-layer sparsity is {@code base − A·I_l} clipped to
 * [0, 0.99] with A = 0.02 (the shipped scripts) and I the normalized layer importance, here from a
 * weight proxy until the statistics of {@code slimq calibrate} supply Adapt-Pruner's −cos(in, out).
 * FLAP (An et al., AAAI 2024) contributes the zero-mask layout ({@code --unstr}: same function, stock
 * shapes) and, once statistics exist, the fluctuation score and bias compensation. Loadability
 * (pruning_tokens.md section 3): only uniform widths fit a stock config (Minitron's choice), hence
 * {@link dev.slimq.prune.structure.PruneLayout#UNIFORM}; BERT derives its head size from
 * hidden/heads, so its heads are pruned in the mask layout only. Not yet: {@code --stats},
 * {@code --steps}, depth pruning, bias compensation, the deci and lists layouts.
 */
package dev.slimq.prune.structure;
