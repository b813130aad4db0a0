/**
 * {@code slimq bench}: fused dequant kernels against float kernels on DRAM/HBM-sized working sets,
 * next to the device's measured read bandwidth ({@link dev.slimq.kernels.bench.KernelBench}).
 */
package dev.slimq.kernels.bench;
