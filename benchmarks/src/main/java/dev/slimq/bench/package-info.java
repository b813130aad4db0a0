/**
 * JMH benchmarks, run by {@code scripts/bench-*.sh}; never part of the test suite.
 */
package dev.slimq.bench;
