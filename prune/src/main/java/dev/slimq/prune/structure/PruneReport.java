package dev.slimq.prune.structure;

import java.util.List;

/**
 * What {@code slimq prune} did; deterministic content only (no timings), printed by {@code --json}.
 *
 * @param ratio requested fraction of the selected units' parameters
 * @param achievedRatio removed / selected parameters, as close to {@code ratio} as the width grid allows
 * @param base the solved Adapt-Pruner base sparsity
 * @param layerImportance how layer importance was obtained
 * @param selectedParameters parameters of all selected units
 * @param removedParameters parameters of the removed units
 * @param parametersBefore all parameters of the input
 * @param parametersAfter all parameters of the pruned model (for mask: those not zeroed by pruning)
 * @param statistics the statistics file used ({@code --stats}), or null
 * @param compensatedBiases biases that received the removed units' mean contribution (FLAP), in layer order
 */
public record PruneReport(String input, String output, String architecture, String layout, String units,
        String importance, double ratio, double achievedRatio, double amplitude, int multipleOf, double base,
        String layerImportance, long selectedParameters, long removedParameters, long parametersBefore,
        long parametersAfter, List<Layer> layers, String statistics, List<String> compensatedBiases) {

    public PruneReport {
        layers = List.copyOf(layers);
        compensatedBiases = List.copyOf(compensatedBiases);
    }

    /**
     * One layer. Widths of a kind that was not selected are null (left out of JSON).
     *
     * @param importance normalized layer importance (mean 0, max |·| 1)
     * @param sparsity the sparsity the widths were rounded from
     * @param attentionUnits KV groups (decoders) or heads (BERT)
     */
    public record Layer(int layer, double importance, double sparsity, Integer mlpNeurons, Integer mlpNeuronsKept,
            Integer attentionUnits, Integer attentionUnitsKept, Integer queryHeadsKept, long removedParameters) {
    }
}
