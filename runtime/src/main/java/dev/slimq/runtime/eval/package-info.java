/**
 * {@code slimq eval} for encoders: the model-level measure of what compression lost (embedding cosine
 * against the original, nearest-neighbour agreement), with the bundled texts it runs on by default.
 * Weight error is a weak proxy for this number (research/quantization.md section 6), so slimq
 * measures it itself, in the same tool and pipeline step.
 */
package dev.slimq.runtime.eval;
