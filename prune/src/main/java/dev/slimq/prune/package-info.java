/**
 * Structural pruning (Adapt-Pruner, issue 6: not yet implemented), token reduction
 * ({@code tokens}: {@code slimq reduce-tokens}) and vocabulary trimming (issue 7, not yet implemented).
 */
package dev.slimq.prune;
