/**
 * Synthetic Hugging Face checkpoints for tests, benchmarks and {@code slimq synth}: real directory
 * layouts (config.json, safetensors weights, optionally sharded by a maximum shard size with an
 * index, and a trained tokenizer) for Llama and BERT at sizes from a few hundred thousand parameters
 * to 7 billion, generated from a seed without any download. The directory is written through core's
 * {@link dev.slimq.core.checkpoint.CheckpointWriter}, so it appears atomically and complete, like
 * every other slimq output.
 *
 * <p>Why synthetic rather than real checkpoints: tests must not depend on the network or on large
 * files, and the output must be exactly reproducible. The weights therefore imitate what makes real
 * weights hard to compress (heavy tails, outlier input channels shared by matrices that read the same
 * input, per-layer and per-row scale differences, rare embedding rows; the recipe is documented on the
 * package-private {@code WeightRecipe}) but carry no knowledge: a synthetic model's outputs are noise,
 * so quality checks compare a compressed model with its own uncompressed original, never with text.
 *
 * <p>Entry points: {@link dev.slimq.testdata.SynthSpec} says what to generate,
 * {@link dev.slimq.testdata.SynthCheckpoint#write} writes it; from the command line,
 * {@code slimq synth} does the same.
 */
package dev.slimq.testdata;
