/**
 * {@code slimq calibrate}: activation statistics from the built-in forward pass, written as the
 * statistics file of DESIGN.md section 4 for structured pruning (layer importance from
 * {@code cos_in_out}, unit scores and bias compensation from the per-channel input moments).
 */
package dev.slimq.runtime.calibrate;
