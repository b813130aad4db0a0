/**
 * Streaming, parallel per-tensor statistics (min, max, mean, std, absmax, tail fraction, NaN/Inf),
 * with a Vector API fast path checked against a scalar reference.
 */
package dev.slimq.core.stats;
