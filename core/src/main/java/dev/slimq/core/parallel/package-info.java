/**
 * The bounded worker pool. Work is split at boundaries that do not depend on the thread count, so
 * every result is identical for any {@code --threads}.
 */
package dev.slimq.core.parallel;
