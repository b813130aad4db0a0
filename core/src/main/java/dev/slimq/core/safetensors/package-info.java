/**
 * The safetensors format: validated reading ({@link dev.slimq.core.safetensors.SafetensorsFile},
 * {@link dev.slimq.core.safetensors.SafetensorsHeader}) and deterministic, streaming, atomic writing
 * ({@link dev.slimq.core.safetensors.WritePlan}, {@link dev.slimq.core.safetensors.SafetensorsWriter},
 * {@link dev.slimq.core.safetensors.WriteJournal}). Every rule of the reference implementation
 * (huggingface/safetensors) is applied on read; each violation is a
 * {@link dev.slimq.core.safetensors.SafetensorsFormatException} with its own reason.
 */
package dev.slimq.core.safetensors;
