package dev.slimq.prune.structure;

/** The two kinds of structural unit (DESIGN.md section 4). */
public enum UnitKind {
    /**
     * One MLP neuron j: decoder gate row j + up row j + down column j; BERT intermediate.dense row j
     * (+ its bias entry) + output.dense column j.
     */
    MLP_NEURON,
    /**
     * One key/value group: its K and V rows, the rows of the query heads that read it, the matching
     * o_proj columns (never breaking grouped-query attention); for BERT, where every head has its own
     * key and value, one head: query/key/value rows + biases and attention.output.dense columns.
     */
    ATTENTION_GROUP
}
