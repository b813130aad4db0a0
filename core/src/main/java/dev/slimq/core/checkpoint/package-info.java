/**
 * Hugging Face checkpoint directories: opening one file or shards with their index (checked against
 * each other), writing outputs (sharding, copy-through of non-weight files, index last, atomic
 * replacement) and the safety checks on output paths.
 */
package dev.slimq.core.checkpoint;
