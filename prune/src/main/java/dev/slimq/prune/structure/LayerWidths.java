package dev.slimq.prune.structure;

import dev.slimq.core.layout.ModelConfig;
import java.util.List;

/**
 * The widths every remaining layer has after pruning, in output layer order: what a layout writes
 * into the config and what the self-check compares the tensors with.
 *
 * @param intermediate MLP neurons per layer
 * @param heads query heads per layer
 * @param kvHeads key/value heads per layer (equal to {@code heads} for BERT)
 * @param headDim the head size, never pruned
 * @param originalIntermediate the input's intermediate size
 * @param originalHeads the input's query heads
 * @param originalKvHeads the input's key/value heads
 */
public record LayerWidths(int[] intermediate, int[] heads, int[] kvHeads, int headDim, int originalIntermediate,
        int originalHeads, int originalKvHeads) {

    /** Widths of the layers not dropped, from the config's widths and the kept unit counts of the groups. */
    static LayerWidths of(ModelConfig c, int layers, List<UnitGroup> groups, int[] kept, boolean[] dropped) {
        int kv0 = c.numKeyValueHeads() > 0 ? c.numKeyValueHeads() : c.numAttentionHeads();
        int[] inter = new int[layers];
        int[] heads = new int[layers];
        int[] kv = new int[layers];
        java.util.Arrays.fill(inter, c.intermediateSize());
        java.util.Arrays.fill(heads, c.numAttentionHeads());
        java.util.Arrays.fill(kv, kv0);
        for (int i = 0; i < groups.size(); i++) {
            UnitGroup g = groups.get(i);
            if (dropped[g.layer()]) {
                continue;
            }
            if (g.kind() == UnitKind.MLP_NEURON) {
                inter[g.layer()] = kept[i];
            } else {
                heads[g.layer()] = kept[i] * g.queryHeadsPerUnit();
                kv[g.layer()] = kept[i]; // one unit is one KV group (BERT: one head)
            }
        }
        int n = 0;
        for (boolean d : dropped) {
            n += d ? 0 : 1;
        }
        int[] oi = new int[n];
        int[] oh = new int[n];
        int[] ok = new int[n];
        for (int l = 0, j = 0; l < layers; l++) {
            if (!dropped[l]) {
                oi[j] = inter[l];
                oh[j] = heads[l];
                ok[j] = kv[l];
                j++;
            }
        }
        return new LayerWidths(oi, oh, ok, c.headDim(), c.intermediateSize(), c.numAttentionHeads(), kv0);
    }

    public int layers() {
        return intermediate.length;
    }

    /** Whether every layer has the same widths. */
    public boolean uniform() {
        for (int l = 1; l < layers(); l++) {
            if (intermediate[l] != intermediate[0] || heads[l] != heads[0] || kvHeads[l] != kvHeads[0]) {
                return false;
            }
        }
        return true;
    }
}
