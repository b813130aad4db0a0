package dev.slimq.prune.structure;

import java.util.List;

/**
 * What {@code slimq prune} did; deterministic content only (no timings), printed by {@code --json}.
 *
 * @param ratio requested fraction of the selected units' parameters
 * @param achievedRatio removed / selected parameters, as close to {@code ratio} as the width grid allows
 * @param steps increments the allocation was applied in ({@code --steps})
 * @param base the solved Adapt-Pruner base sparsity (of the last step)
 * @param layerImportance how layer importance was obtained
 * @param selectedParameters parameters of all selected units
 * @param removedParameters parameters of the removed units
 * @param parametersBefore all parameters of the input
 * @param parametersAfter all parameters of the pruned model (for mask: those of the physically pruned model)
 * @param droppedLayers layers removed whole ({@code --drop-layers}), by input index
 * @param depthRemovedParameters parameters of the dropped layers
 * @param modelRatio removed / all parameters of the input, width and depth together
 * @param statistics the statistics file used ({@code --stats}), or null
 * @param compensatedBiases biases that received the removed units' mean contribution (FLAP), input names
 * @param createdBiases biases the input lacked, created for the compensation (zero where nothing was folded in), output names
 * @param configFlags config keys switched on for the created biases ({@code mlp_bias}, {@code attention_bias})
 */
public record PruneReport(String input, String output, String architecture, String layout, String units,
        String importance, double ratio, double achievedRatio, double amplitude, int multipleOf, int steps, double base,
        String layerImportance, long selectedParameters, long removedParameters, long parametersBefore,
        long parametersAfter, List<Integer> droppedLayers, long depthRemovedParameters, double modelRatio, List<Layer> layers, String statistics, List<String> compensatedBiases,
        List<String> createdBiases, List<String> configFlags) {

    public PruneReport {
        layers = List.copyOf(layers);
        droppedLayers = List.copyOf(droppedLayers);
        compensatedBiases = List.copyOf(compensatedBiases);
        createdBiases = List.copyOf(createdBiases);
        configFlags = List.copyOf(configFlags);
    }

    /**
     * One layer. Widths of a kind that was not selected are null (left out of JSON).
     *
     * @param outputLayer the layer's index in the pruned model, null when dropped
     * @param dropped whether the whole layer was removed
     * @param importance normalized layer importance over all input layers (mean 0, max |·| 1)
     * @param sparsity the sparsity the widths were rounded from (1 for a dropped layer)
     * @param removedParameters width-pruned parameters, or all of the layer's when dropped
     * @param mlpError relative output error of the pruned MLP branch on seeded probes ({@link BlockError}); null when not width-pruned
     * @param attentionError the same for the attention output projection
     * @param attentionUnits KV groups (decoders) or heads (BERT)
     */
    public record Layer(int layer, Integer outputLayer, boolean dropped, double importance, double sparsity, Integer mlpNeurons, Integer mlpNeuronsKept,
            Integer attentionUnits, Integer attentionUnitsKept, Integer queryHeadsKept, long removedParameters,
            Double mlpError, Double attentionError) {
    }
}
