/**
 * OpenCL for slimq (the only package that imports JOCL): device discovery and selection
 * ({@link dev.slimq.kernels.OpenClRuntime}, {@link dev.slimq.kernels.Backends}), the OpenCL
 * {@link dev.slimq.core.compute.ComputeBackend} ({@link dev.slimq.kernels.OpenClBackend}) and the
 * kernel sources it builds: fused dequant GEMV/GEMM ({@code quant.cl}), float GEMV/GEMM for
 * comparison ({@code dense.cl}) and a read-bandwidth probe ({@code stream.cl}), resources next to
 * these classes.
 *
 * <p>Kernels never assume a vendor: vector width, work-group size, how many lanes share a row and
 * whether sub-groups are tried all come from what the device reports ({@link dev.slimq.kernels.LaunchPolicy}).
 * Shapes, group sizes and flags are kernel arguments, so one build serves every layer.
 */
package dev.slimq.kernels;
