/**
 * Structural pruning ({@code structure}: {@code slimq prune}, data-free Adapt-Pruner allocation),
 * token reduction ({@code tokens}: {@code slimq reduce-tokens}) and, later, vocabulary trimming.
 */
package dev.slimq.prune;
