package dev.slimq.prune.structure;

/**
 * One removable unit of a model.
 *
 * @param layer transformer layer
 * @param kind MLP neuron or attention group
 * @param index the unit's index within its layer and kind (neuron j, KV group g)
 * @param parameters weights and bias entries that go when the unit goes
 */
public record PruneUnit(int layer, UnitKind kind, int index, long parameters) {
}
