/**
 * Structural pruning (Adapt-Pruner), token reduction and vocabulary trimming (DESIGN.md section 4). Not yet implemented: see issues 6 and 7.
 */
package dev.slimq.prune;
