/**
 * The BERT-family encoder forward pass (bert; roberta and xlm-roberta with their position offset):
 * weights decoded to floats once ({@link dev.slimq.runtime.bert.BertWeights}), a ragged batched
 * forward pass on the {@link dev.slimq.core.parallel.WorkPool} that is bit-identical for any thread
 * count ({@link dev.slimq.runtime.bert.BertEncoder}), Vector API matrix products with a scalar
 * reference ({@link dev.slimq.runtime.bert.LinearKernel}), and mean or CLS pooling.
 */
package dev.slimq.runtime.bert;
