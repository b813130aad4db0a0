/**
 * The foundation every slimq module builds on: tensors and dtypes ({@code tensor}), safetensors I/O
 * ({@code safetensors}), checkpoint directories ({@code checkpoint}), model layouts ({@code layout}),
 * statistics, parallel work and progress. {@link dev.slimq.core.SlimqException} with its
 * {@link dev.slimq.core.Failure} category is how every expected failure travels to the CLI.
 */
package dev.slimq.core;
