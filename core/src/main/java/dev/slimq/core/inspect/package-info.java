/**
 * The {@code inspect} service: a report of what a checkpoint holds, from headers and config, and
 * optionally statistics of every tensor.
 */
package dev.slimq.core.inspect;
